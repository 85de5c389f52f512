package storage_test

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// busy keeps the processor for d without a scheduling point.
func busy(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestYieldCPULetsWaitingRequestsRun: on one P, a background job that
// calls YieldCPU between its steps lets every connection that became
// readable during a step be served before its next step. Plain
// runtime.Gosched fails the first reader (the network is not polled while
// the job is runnable); a plain sleep fails the second (the timer that ends
// it puts the job ahead of the waiting reader). Both fail every attempt; the
// yield itself can miss when the operating system takes the thread away for
// longer than the pause (the timer has then expired when the scheduler
// looks), so the test allows three attempts.
func TestYieldCPULetsWaitingRequestsRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var steps []int64
	for range 3 {
		if steps = yieldAttempt(t); steps[0] == 0 && steps[1] == 0 {
			return
		}
	}
	t.Errorf("readers were served during steps %v of the job, want 0 (right after the step they arrived in)", steps)
}

// yieldAttempt runs a job of five steps with YieldCPU between them, two
// connections becoming readable during the first, and returns the step
// during which each reader was served.
func yieldAttempt(t *testing.T) []int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const readers = 2
	var clients []net.Conn
	var step atomic.Int64
	var served [readers]atomic.Int64
	var wg sync.WaitGroup
	for i := range readers {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		served[i].Store(-1)
		wg.Go(func() {
			var b [1]byte
			if _, err := s.Read(b[:]); err != nil {
				t.Error(err)
				return
			}
			served[i].Store(step.Load())
			busy(500 * time.Microsecond) // a request's work, longer than the job's pause
		})
	}
	time.Sleep(20 * time.Millisecond) // the readers block in Read
	for _, c := range clients {
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		step.Store(int64(i))
		busy(2 * time.Millisecond) // a step of the job: the requests arrive during the first
		storage.YieldCPU()
	}
	wg.Wait()
	steps := make([]int64, readers)
	for i := range readers {
		steps[i] = served[i].Load()
	}
	return steps
}
