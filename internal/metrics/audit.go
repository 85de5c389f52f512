package metrics

import "github.com/prometheus/client_golang/prometheus"

// OpAuditFlush is the StorageError operation of writing queued audit events.
const OpAuditFlush = "audit_flush"

// Audit holds the audit trail's counters.
type Audit struct {
	dropped prometheus.Counter
}

func newAudit() *Audit {
	return &Audit{dropped: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "audit_events_dropped_total",
		Help: "Audit events dropped because the in-memory queue was full or could not be written in time (they are still in the log unless the queue was full).",
	})}
}

// Dropped counts n dropped audit events.
func (a *Audit) Dropped(n int) { a.dropped.Add(float64(n)) }
