package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownFiles are the repository's documents: the root's and docs/'s.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../README.md", "../ARCHITECTURE.md", "../CHANGELOG.md", "../SECURITY.md"}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	fenced     = regexp.MustCompile("(?ms)^ *```.*?^ *```")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	link       = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *#* *$`)
	// outside names what a reader of the repository does not have.
	outside = regexp.MustCompile(`\.\./shared|DESIGN(\.md| §)|\bthe issue\b|\bissue \d`)
)

// prose is a Markdown text without its code, where links are not links.
func prose(md string) string {
	return inlineCode.ReplaceAllString(fenced.ReplaceAllString(md, ""), "")
}

// anchors are the fragments GitHub gives a document's headings.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fenced.ReplaceAllString(md, ""), -1) {
		out[slug(m[1])] = true
	}
	return out
}

// slug is GitHub's heading anchor: lower case, spaces to hyphens, and every
// character but letters, digits, '-' and '_' dropped.
func slug(h string) string {
	h = strings.ToLower(strings.NewReplacer("`", "", "*", "").Replace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestLinks: every relative link in the documents leads to a file in the
// repository (and to a heading of it, for a fragment), none leaves it, and no
// document points at anything a reader of the repository does not have.
func TestLinks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		md := string(data)
		if m := outside.FindString(md); m != "" {
			t.Errorf("%s refers to %q, which is not in the repository", file, m)
		}
		for _, m := range link.FindAllStringSubmatch(prose(md), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				if filepath.IsAbs(path) {
					t.Errorf("%s: link %q is absolute", file, target)
					continue
				}
				dest = filepath.Join(filepath.Dir(file), path)
			}
			abs, _ := filepath.Abs(dest)
			if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s: link %q leaves the repository", file, target)
				continue
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %q: %v", file, target, err)
				continue
			}
			if frag != "" && strings.HasSuffix(dest, ".md") {
				text, _ := os.ReadFile(dest)
				if !anchors(string(text))[frag] {
					t.Errorf("%s: link %q: no heading with anchor #%s", file, target, frag)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d links checked: the link pattern no longer matches the documents", checked)
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Brute-force protection":    "brute-force-protection",
		"gatehouse client secret":   "gatehouse-client-secret",
		"The `auth0` dialect (JWT)": "the-auth0-dialect-jwt",
		"Tokens: 1,000 clients":     "tokens-1000-clients",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}

// TestCitedTestsExist: every test, benchmark or fuzz target a document
// names as evidence exists.
func TestCitedTestsExist(t *testing.T) {
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)[A-Z]\w*)\(`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllSubmatch(data, -1) {
				funcs[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := regexp.MustCompile(`\b(?:Test|Benchmark|Fuzz)[A-Z]\w*`)
	n := 0
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range cited.FindAllString(string(data), -1) {
			n++
			if !funcs[name] {
				t.Errorf("%s cites %s, which no test file declares", file, name)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d citations found: the pattern no longer matches the documents", n)
	}
}
