package slo_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/slo"
)

// A month of traffic, light or ten times heavier, leaves the heap where it
// was: the monitor keeps bucketed counts, never calls.
func TestMemoryStaysFlatOverASimulatedMonth(t *testing.T) {
	for _, perBatch := range []int{10, 100} {
		t.Run(fmt.Sprintf("%d calls every 5m", perBatch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond})
				traffic(m, time.Hour, time.Minute, batch{calls: 2}) // warm up

				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				traffic(m, 31*day, 5*time.Minute, batch{calls: perBatch, bad: 1, slow: 1})
				runtime.GC()
				runtime.ReadMemStats(&after)

				calls := 31 * 288 * perBatch
				// The few allocations allowed are the runtime's own (GC, timers), the same for any traffic.
				if n := after.Mallocs - before.Mallocs; n > 16 {
					t.Errorf("%d allocations while recording %d calls over a month; want none of ours", n, calls)
				}
				if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<10 {
					t.Errorf("heap grew by %d bytes over %d calls; want it flat", grew, calls)
				}
			})
		})
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	m := newMonitor(t, "api", slo.Objective{Latency: time.Second})
	var change int
	m.OnAlertChange(func(slo.AlertChange) { change++ })
	outcomes := []policy.Outcome{policy.Success, policy.Failure, policy.Rejected, policy.Panic}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		m.Record(outcomes[i%len(outcomes)], time.Duration(i)*time.Millisecond)
		i++
	}); n != 0 {
		t.Errorf("Record allocates %v times per call, want 0", n)
	}
	if change == 0 {
		t.Error("the traffic raised no alert: the test did not exercise a change")
	}
}

// Concurrent records, snapshots and listeners lose no call (run with -race).
func TestConcurrentUseLosesNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMonitor(t, "api", slo.Objective{Latency: 300 * time.Millisecond})
		var mu sync.Mutex
		var heard int
		unsubscribe := m.OnAlertChange(func(slo.AlertChange) { mu.Lock(); heard++; mu.Unlock() })
		defer unsubscribe()

		const goroutines, each = 8, 5000
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					switch {
					case g == 0 && i%100 == 0:
						_ = m.Snapshot()
					case i%10 == 0:
						m.Record(policy.Failure, 0)
					case i%10 == 1:
						m.Record(policy.Success, time.Second)
					default:
						m.Record(policy.Success, time.Millisecond)
					}
				}
			})
		}
		wg.Go(func() { // listeners come and go meanwhile
			for range 100 {
				m.OnAlertChange(func(slo.AlertChange) {})()
			}
		})
		wg.Wait()

		// Fake time stood still: every call is in the current bucket, exactly.
		s := m.Snapshot()
		// Goroutine 0 took a snapshot instead of every hundredth call, a failure.
		recorded, failed := float64(goroutines*each-each/100), float64(goroutines*each/10-each/100)
		if w := s.Availability.Windows[0]; w.Calls != recorded || w.Bad != failed {
			t.Errorf("availability counted %v calls, %v bad; want %v and %v", w.Calls, w.Bad, recorded, failed)
		}
		if w := s.Latency.Windows[0]; w.Bad != goroutines*each/10 {
			t.Errorf("latency counted %v slow calls, want %v", w.Bad, goroutines*each/10)
		}
		if heard == 0 {
			t.Error("10% failures raised no alert")
		}
	})
}
