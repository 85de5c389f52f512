package sqlstore

import "github.com/gatehouse-dev/gatehouse/internal/storage"

// ListAuditQuery is ListAudit's query for f, for a test to explain.
func (s *Store) ListAuditQuery(f storage.AuditFilter) (string, []any) { return s.listAuditQuery(f) }
