package sqlite

import "database/sql"

// DB exposes the Store's connection pool to the external tests.
func (s *Store) DB() *sql.DB { return s.db }
