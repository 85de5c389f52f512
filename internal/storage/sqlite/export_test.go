package sqlite

import (
	"database/sql"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DB exposes the Store's connection pool to the external tests.
func (s *Store) DB() *sql.DB { return s.db }

// ListAuditQuery is ListAudit's query for f, for a test to explain.
func ListAuditQuery(f storage.AuditFilter) (string, []any) { return listAuditQuery(f) }
