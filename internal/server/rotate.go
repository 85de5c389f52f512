package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
)

// rotationScheduler returns the scheduler that rotates the signing keys every
// cfg.KeyRotationPeriod (DESIGN §3: one instance at a time, under the
// database lock), or nil when the period is 0. The outgoing key stays
// published for the longest token lifetime of any API, read from the store
// under the rotation lease, plus admin.RotationMargin, as with gatehouse key
// rotate.
func (s *Server) rotationScheduler() (*keys.Scheduler, error) {
	if s.cfg.KeyRotationPeriod == 0 {
		return nil, nil
	}
	sched, err := keys.NewScheduler(keys.ScheduleConfig{
		Keys:   s.keys,
		Leases: s.store,
		Period: s.cfg.KeyRotationPeriod,
		MaxTokenLifetime: func(ctx context.Context) (time.Duration, error) {
			apis, err := s.store.ListAPIs(ctx)
			if err != nil {
				return 0, fmt.Errorf("list apis: %w", err)
			}
			return admin.RotationMaxTokenLifetime(apis), nil
		},
		Now:    s.opts.Now,
		Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	return sched, nil
}
