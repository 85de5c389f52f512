package storage

import "time"

// YieldCPU parks the calling goroutine for a moment between the steps of a
// long background job (an audit flush, a last-use flush), so that token
// requests that arrived meanwhile run first. With one core (GOMAXPROCS=1)
// runtime.Gosched is not enough, and neither is a sleep that has expired by
// the time the scheduler looks: the scheduler runs what is runnable (timers
// first) and polls the network for readable connections only when nothing
// is (or from sysmon, every 10 ms), so requests would wait for the whole
// job. yieldPause outlasts the scheduler's own work, so the network is
// polled before the job resumes.
func YieldCPU() { time.Sleep(yieldPause) }

// yieldPause is how long YieldCPU parks: long enough that the scheduler
// finds nothing runnable and polls the network, short against a flush.
const yieldPause = 50 * time.Microsecond
