package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "c991b04abcdef0123456789abcdef0123456789a"
	tests := []struct {
		name    string
		release string
		bi      *debug.BuildInfo
		ok      bool
		want    buildVersion
		str     string
	}{
		{name: "no build info", want: buildVersion{Version: "devel"}, str: "devel"},
		{name: "go run in a checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, ok: true,
			want: buildVersion{Version: "devel"}, str: "devel"},
		{name: "built in a git checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, ok: true,
			want: buildVersion{Version: "devel", Commit: rev, Modified: true}, str: "devel+c991b04abcde.dirty"},
		{name: "go install at a tag", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, ok: true,
			want: buildVersion{Version: "v0.2.0"}, str: "v0.2.0"},
		{name: "pseudo-version", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203165826-c991b04abcde"}, Settings: vcs(rev, "false")}, ok: true,
			want: buildVersion{Version: "v0.0.0-20261203165826-c991b04abcde", Commit: rev}, str: "v0.0.0-20261203165826-c991b04abcde"},
		{name: "release ldflags win", release: "v1.0.0", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, ok: true,
			want: buildVersion{Version: "v1.0.0", Commit: rev}, str: "v1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionOf(tt.release, tt.bi, tt.ok)
			if got != tt.want {
				t.Errorf("versionOf = %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}
