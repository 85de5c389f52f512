package config

import (
	"os"
	"strings"
	"testing"
)

// TestConfigurationReference: docs/reference/configuration.md documents
// every setting by its flag, its environment variable and its default.
func TestConfigurationReference(t *testing.T) {
	data, err := os.ReadFile("../../docs/reference/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	for _, f := range c.fields() {
		var row string
		for _, line := range strings.Split(string(data), "\n") {
			if first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |"); strings.HasPrefix(line, "| ") && strings.Contains(first, "`--"+f.name+"`") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("docs/reference/configuration.md has no row for --%s", f.name)
		} else if !strings.Contains(row, "`"+f.env()+"`") {
			t.Errorf("the row of --%s does not name %s", f.name, f.env())
		}
	}
}
