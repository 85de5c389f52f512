package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestMain names the suites skipped for want of a PostgreSQL server in one
// line that go test ./... shows (testutil.ReportSkips).
func TestMain(m *testing.M) {
	testutil.Main(m, "internal/storage/sqlstore")
}
