package storage

import (
	"runtime"
	"time"
)

// YieldCPU lets the token requests that arrived during a step of a long
// background job (an audit flush, a last-use flush) run before its next
// step. With one core (GOMAXPROCS=1) neither half alone does it:
//   - runtime.Gosched puts the job at the end of the global run queue, but
//     the scheduler polls the network for readable connections only when
//     nothing is runnable (or from sysmon, every 10 ms), so the job is
//     picked again before any new request is seen;
//   - a sleep parks the job, so the network is polled, but the timer that
//     wakes it puts it in the processor's next slot, ahead of every request
//     already waiting: in a runtime trace a request stayed runnable for 12
//     ms while the job and one other request took turns.
//
// So the job sleeps (the network is polled; yieldPause outlasts the
// scheduler's own work) and then yields its turn to what is waiting.
func YieldCPU() {
	time.Sleep(yieldPause)
	runtime.Gosched()
}

// yieldPause is how long YieldCPU parks: long enough that the scheduler
// finds nothing runnable and polls the network, short against a flush.
const yieldPause = 50 * time.Microsecond
