package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestConfigurationReference: docs/reference/configuration.md documents
// every setting by its flag, its environment variable and its default: a
// setting whose default is not empty or zero has that value first in the
// default column (durations as written in the table, 2160h for 2160h0m0s).
func TestConfigurationReference(t *testing.T) {
	data, err := os.ReadFile("../../docs/reference/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	for _, f := range c.fields() {
		var cells []string
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "| ") {
				continue
			}
			if row := strings.Split(strings.TrimPrefix(line, "| "), " | "); strings.Contains(row[0], "`--"+f.name+"`") {
				cells = row
			}
		}
		if len(cells) < 3 {
			t.Errorf("docs/reference/configuration.md has no row for --%s", f.name)
			continue
		}
		if !strings.Contains(cells[1], "`"+f.env()+"`") {
			t.Errorf("the row of --%s does not name %s", f.name, f.env())
		}
		if want, ok := documentedDefault(f); ok && !strings.HasPrefix(cells[2], want) {
			t.Errorf("the row of --%s gives the default %q, the code %s", f.name, cells[2], want)
		}
	}
}

// documentedDefault is f's default as the reference writes it, false for
// an empty string or a zero duration or number (the table explains those).
func documentedDefault(f field) (string, bool) {
	switch {
	case f.str != nil && *f.str != "":
		return "`" + *f.str + "`", true
	case f.bool != nil:
		return fmt.Sprintf("`%t`", *f.bool), true
	case f.dur != nil && *f.dur != 0:
		s := f.dur.String()
		if *f.dur >= time.Minute {
			s = strings.TrimSuffix(s, "0s")
		}
		if *f.dur >= time.Hour {
			s = strings.TrimSuffix(s, "0m")
		}
		return "`" + s + "`", true
	case f.num != nil && *f.num != 0:
		return fmt.Sprintf("`%d`", *f.num), true
	}
	return "", false
}

// TestEverySettingIsAFlag: every setting that serve reads is a flag of serve
// or of every command (Common), as the configuration reference and the
// flags' usage promise: a setting left out of both is read from the
// environment and the file only, and `serve --NAME` is an unknown flag.
func TestEverySettingIsAFlag(t *testing.T) {
	bound := map[string]bool{}
	for _, n := range append(append(Flags{}, Common...), Serve...) {
		bound[n] = true
	}
	c := Default()
	for _, f := range c.fields() {
		if !bound[f.name] {
			t.Errorf("--%s is a setting, but neither Common nor Serve binds it as a flag", f.name)
		}
	}
}
