// Package skipper is a fixture of TestReportSkipsReachesTheGoCommand: two
// suites skip for want of something, one passes.
package skipper

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.Main(m, "skipper")
}

func TestNeedsDatabase(t *testing.T) { testutil.SkipSuite(t, "no database") }

func TestNeedsBrowser(t *testing.T) {
	for _, name := range []string{"login", "consent"} {
		t.Run(name, func(t *testing.T) { testutil.SkipSuite(t, "no browser") })
	}
}

func TestRuns(t *testing.T) {}
