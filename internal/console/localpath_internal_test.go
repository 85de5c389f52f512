package console

import "testing"

// TestLocalPath: the page a sign-in returns to is a path of the console;
// anything else (another site, a scheme-relative //host, a backslash, a
// path outside /console, the callback itself) is the start page.
func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/console/apis?q=x":             "/console/apis?q=x",
		"/console/applications/abc":     "/console/applications/abc",
		"/console":                      "/console",
		"https://evil.example/console/": Path + "/applications",
		"//evil.example/console/":       Path + "/applications",
		"/\\evil.example/console/":      Path + "/applications",
		"/console\\..\\evil":            Path + "/applications",
		"/authorize?x=1":                Path + "/applications",
		"/consoleevil":                  Path + "/applications",
		"/console/../api/v2/":           Path + "/applications",
		"/console/callback?code=x":      Path + "/applications",
		"javascript:alert(1)":           Path + "/applications",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
