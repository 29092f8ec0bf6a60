package breaker_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

func TestNewCoarseClockRefusesAResolutionThatIsNotPositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Millisecond} {
		c, err := breaker.NewCoarseClock(d)
		assert.ErrorIs(t, err, breaker.ErrInvalidResolution)
		assert.Nil(t, c)
	}
}

func TestNewRefusesACoarseClockCoarserThanTheWindowStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock, err := breaker.NewCoarseClock(time.Second)
		require.NoError(t, err)
		defer clock.Stop()
		_, err = breaker.New("svc", breaker.Config{Window: &breaker.Window{Duration: 5 * time.Second, Buckets: 10}}, breaker.WithCoarseClock(clock))
		assert.ErrorIs(t, err, breaker.ErrInvalidConfig)
		assert.EqualError(t, err, `breaker: "svc": the coarse clock's resolution, 1s, exceeds the window's step, 500ms (Duration / Buckets)`)
		_, err = breaker.New("svc", breaker.Config{Window: &breaker.Window{Duration: 10 * time.Second}}, breaker.WithCoarseClock(clock))
		assert.NoError(t, err, "a resolution equal to the step")
	})
}

// A time-based window read through a coarse clock counts, slides and trips as
// one read through the system clock does, to within the clock's resolution;
// once the clock stops, the breaker reads the system clock again.
func TestATimeWindowOnACoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock, err := breaker.NewCoarseClock(10 * time.Millisecond)
		require.NoError(t, err)
		defer clock.Stop()
		assert.Equal(t, 10*time.Millisecond, clock.Resolution())
		b, err := breaker.New("coarse", breaker.Config{Window: &breaker.Window{
			Duration: 10 * time.Second, Buckets: 10, MinimumCalls: 10, FailureRateThreshold: 0.5,
		}}, breaker.WithCoarseClock(clock), breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
		require.NoError(t, err)

		for range 8 {
			call(t, b, succeed)
		}
		assert.Equal(t, 8, b.Status().Calls)
		time.Sleep(5 * time.Second)
		for range 2 {
			call(t, b, succeed)
		}
		assert.Equal(t, 10, b.Status().Calls)
		time.Sleep(5*time.Second + 50*time.Millisecond) // the first 8 leave the window
		st := b.Status()
		assert.Equal(t, 2, st.Calls, "the calls of the first step left the window")

		for range 7 {
			call(t, b, fail)
		}
		wantState(t, b, breaker.Closed) // 7 failures of 9 calls: below MinimumCalls
		call(t, b, succeed)             // 10 calls, 70% failed
		wantState(t, b, breaker.Open)

		clock.Stop()
		b.Reset()
		for range 3 {
			call(t, b, succeed)
		}
		time.Sleep(10 * time.Second)
		call(t, b, succeed)
		assert.Equal(t, 1, b.Status().Calls, "after Stop, the system clock slides the window")
	})
}

// Successes recorded without the breaker's lock (a time-based window with no
// failure in it) still honour the generation: a call admitted before Reset
// is not counted after it.
func TestATimeWindowDropsTheSuccessesOfCallsAdmittedBeforeAReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{Window: &breaker.Window{Duration: time.Minute, MinimumCalls: 5}})
		for range 3 {
			call(t, b, succeed)
		}
		late, err := b.Allow()
		require.NoError(t, err)
		b.Reset()
		call(t, b, succeed) // the window is clean again: successes skip the lock
		late.Done(nil)
		assert.Equal(t, 1, b.Status().Calls, "the call admitted before Reset was counted")
	})
}

// The window reads the coarse clock, which lags the system clock by up to its
// resolution: a call that ends just after a step begins, before the clock's
// next tick, counts in the step before, and leaves the window a step early.
func TestACoarseClockPlacesCallsByItsLastTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock, err := breaker.NewCoarseClock(10 * time.Millisecond) // ticks at 10ms, 20ms, …
		require.NoError(t, err)
		defer clock.Stop()
		time.Sleep(5 * time.Millisecond)
		// On the breaker's clock, which starts now, the ticks fall at 5ms,
		// 15ms, … 9.995s, 10.005s; the window's steps are of 1s.
		b, err := breaker.New("lag", breaker.Config{Window: &breaker.Window{Duration: 10 * time.Second, Buckets: 10}},
			breaker.WithCoarseClock(clock), breaker.WithMeterProvider(metricnoop.NewMeterProvider()))
		require.NoError(t, err)
		time.Sleep(10*time.Second + 2*time.Millisecond)
		call(t, b, succeed) // ends at 10.002s, read as 9.995s: step 9, not 10
		time.Sleep(8*time.Second + 900*time.Millisecond)
		assert.Equal(t, 1, b.Status().Calls, "at 18.902s the window holds steps 9 to 18")
		time.Sleep(200 * time.Millisecond)
		assert.Equal(t, 0, b.Status().Calls, "at 19.102s step 9 has left the window; a call read at 10.002s would still be in it")
	})
}
