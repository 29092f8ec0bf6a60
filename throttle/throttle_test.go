package throttle_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/throttle"
)

var errOverloaded = errors.New("backend: 503")

func mustNew(t testing.TB, cfg throttle.Config, opts ...throttle.Option) *throttle.Throttle {
	t.Helper()
	thr, err := throttle.New("backend", cfg, opts...)
	require.NoError(t, err)
	return thr
}

func fail(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func TestBadConfigFailsAtConstruction(t *testing.T) {
	for name, cfg := range map[string]throttle.Config{
		"K below 1":       {K: 0.5},
		"K infinite":      {K: math.Inf(1)},
		"negative K":      {K: -2},
		"NaN K":           {K: math.NaN()},
		"negative window": {Window: -time.Second},
		"tiny window":     {Window: 19},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := throttle.New("x", cfg)
			require.ErrorIs(t, err, throttle.ErrInvalidConfig)
			assert.Regexp(t, `^throttle: invalid config: `, err.Error())
		})
	}
	_, err := throttle.New("", throttle.Config{})
	assert.ErrorIs(t, err, throttle.ErrInvalidConfig)
}

// backend accepts at most capacity calls per 100ms and refuses the rest,
// as a server at its limit does.
type backend struct {
	mu       sync.Mutex
	capacity int
	slot     time.Time
	used     int
	received int
	accepted int
}

func (b *backend) call(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.received++
	if now := time.Now().Truncate(100 * time.Millisecond); !now.Equal(b.slot) {
		b.slot, b.used = now, 0
	}
	if b.used >= b.capacity {
		return errOverloaded
	}
	b.used++
	b.accepted++
	return nil
}

func (b *backend) reset(capacity int) (received, accepted int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	received, accepted = b.received, b.accepted
	b.capacity, b.received, b.accepted = capacity, 0, 0
	return received, accepted
}

// drive calls thr every 10ms (100 calls a second) for d, and returns how
// many calls it refused locally.
func drive(t *testing.T, thr *throttle.Throttle, b *backend, d time.Duration) (refused int) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		err := thr.Execute(context.Background(), b.call)
		switch {
		case errors.Is(err, throttle.ErrThrottled):
			refused++
		case err != nil && !errors.Is(err, errOverloaded):
			t.Fatalf("unexpected error %v", err)
		}
	}
	return refused
}

func TestABackendAcceptingThirtyPercentIsSentAboutKTimesWhatItAccepts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const k = 2
		b := &backend{capacity: 3} // 30 calls a second of the 100 asked
		thr := mustNew(t, throttle.Config{K: k, Window: 10 * time.Second})

		drive(t, thr, b, 10*time.Second) // the first window fills
		b.reset(3)
		refused := drive(t, thr, b, 60*time.Second)
		received, accepted := b.reset(3)
		t.Logf("in 60s: %d calls refused locally, backend received %d and accepted %d", refused, received, accepted)
		assert.InDelta(t, 30*60, accepted, 30*60*0.05, "the backend was not kept at its capacity")
		assert.LessOrEqual(t, float64(received), 1.1*k*float64(accepted), "sent more than about K× what the backend accepts")
		assert.GreaterOrEqual(t, float64(received), 0.9*k*float64(accepted), "sent less than K× what the backend accepts")
		assert.Equal(t, 6000, received+refused, "calls lost")

		// Without the throttle the backend would receive all 6000 calls.
		// It recovers: within one window, the throttle refuses nothing.
		b.reset(1000)
		drive(t, thr, b, 10*time.Second)
		assert.Zero(t, thr.RejectionProbability(), "one window after the backend recovered")
		assert.Zero(t, drive(t, thr, b, 10*time.Second), "calls refused after recovery")
	})
}

func TestAHealthyBackendIsNeverThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := mustNew(t, throttle.Config{Window: time.Second})
		b := &backend{capacity: 1000}
		assert.Zero(t, drive(t, thr, b, 5*time.Second))
		// At 5s the window is the current 50ms slot, just begun, and the 19
		// before it: the calls from 4.05s on.
		assert.Equal(t, throttle.Stats{Requests: 95, Accepts: 95}, thr.Stats())
	})
}

func TestTheProbabilityIsTheSREBooksFormula(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := mustNew(t, throttle.Config{K: 1.5, Window: time.Minute})
		// 10 accepted, then failures until the first local refusal: every
		// call counts as a request.
		for range 10 {
			require.NoError(t, thr.Execute(context.Background(), fail(nil)))
		}
		assert.Zero(t, thr.RejectionProbability())
		for range 5 {
			_ = thr.Execute(context.Background(), fail(errOverloaded))
		}
		s := thr.Stats()
		assert.Equal(t, int64(15), s.Requests)
		assert.Equal(t, int64(10), s.Accepts)
		assert.Zero(t, s.Probability, "15 − 1.5·10 = 0")
		for thr.RejectionProbability() == 0 {
			_ = thr.Execute(context.Background(), fail(errOverloaded))
		}
		s = thr.Stats()
		assert.InDelta(t, (float64(s.Requests)-1.5*10)/float64(s.Requests+1), s.Probability, 1e-12)
	})
}

func TestCountsLeaveTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := mustNew(t, throttle.Config{Window: 20 * time.Second}) // 1s slots
		for range 100 {
			_ = thr.Execute(context.Background(), fail(errOverloaded))
		}
		require.Positive(t, thr.RejectionProbability())
		time.Sleep(19 * time.Second)
		assert.Positive(t, thr.Stats().Requests, "counts left before the window ended")
		time.Sleep(time.Second)
		assert.Equal(t, throttle.Stats{}, thr.Stats(), "counts stayed past the window")
	})
}

func TestThePredicateSaysWhichErrorsAreRefusals(t *testing.T) {
	errNotFound := errors.New("backend: 404")
	thr := mustNew(t, throttle.Config{}, throttle.WithRejected(func(err error) bool { return errors.Is(err, errOverloaded) }))
	for range 100 {
		assert.ErrorIs(t, thr.Execute(context.Background(), fail(errNotFound)), errNotFound)
	}
	assert.Equal(t, throttle.Stats{Requests: 100, Accepts: 100}, thr.Stats(), "a 404 is an answer, not a refusal")
}

func TestCallsTheThrottleCannotJudgeAreNotCounted(t *testing.T) {
	thr := mustNew(t, throttle.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	_ = thr.Execute(ctx, func(context.Context) error { cancel(); return context.Canceled })
	_ = thr.Execute(ctx, fail(nil)) // already cancelled: never runs
	_ = thr.Execute(context.Background(), fail(errors.Join(policy.ErrRejected, errors.New("breaker: open"))))
	assert.Panics(t, func() {
		_ = thr.Execute(context.Background(), func(context.Context) error { panic("bug") })
	})
	assert.Equal(t, throttle.Stats{}, thr.Stats())
}

func TestAPanickingPredicateReachesTheCallerAndCountsNothing(t *testing.T) {
	boom := true
	thr := mustNew(t, throttle.Config{}, throttle.WithRejected(func(error) bool {
		if boom {
			panic("predicate bug")
		}
		return true
	}))
	assert.PanicsWithValue(t, "predicate bug", func() { _ = thr.Execute(context.Background(), fail(errOverloaded)) })
	assert.Equal(t, throttle.Stats{}, thr.Stats())
	boom = false
	_ = thr.Execute(context.Background(), fail(errOverloaded))
	assert.Equal(t, throttle.Stats{Requests: 1, Probability: 0.5}, thr.Stats())
}

func TestARefusalIsAnEventAndAnErrorThatMatchesErrRejected(t *testing.T) {
	rec := oteltest.NewRecorder()
	thr := mustNew(t, throttle.Config{})
	p := policy.MustNew("search", thr).With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))
	var refusal error
	for refusal == nil {
		if err := p.Execute(context.Background(), fail(errOverloaded)); errors.Is(err, throttle.ErrThrottled) {
			refusal = err
		}
	}
	assert.ErrorIs(t, refusal, policy.ErrRejected)
	assert.Equal(t, `throttle "backend": refused locally, the backend is rejecting calls`, refusal.Error())
	var re *throttle.RejectedError
	require.ErrorAs(t, refusal, &re)
	assert.Equal(t, "backend", re.Throttle)

	var events []oteltest.Event
	for _, e := range rec.Events("search execute") {
		if e.Name == "throttle.rejected" {
			events = append(events, e)
		}
	}
	require.Len(t, events, 1)
	assert.Equal(t, map[attribute.Key]attribute.Value{
		policy.AttrPolicy:    attribute.StringValue("backend"),
		policy.AttrReason:    attribute.StringValue(throttle.ReasonAdaptive),
		policy.AttrErrorType: attribute.StringValue("throttled"),
	}, events[0].Attrs)
	assert.Equal(t, map[string]int64{"backend throttle.rejected": 1}, rec.EventCounts(t))
}

func TestConcurrentCallsAreAllCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := mustNew(t, throttle.Config{Window: time.Second})
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 50 {
					_ = thr.Execute(context.Background(), fail(nil))
					time.Sleep(10 * time.Millisecond) // crosses slots: counts rotate under load
				}
			})
		}
		wg.Wait()
		// The calls span 500ms, crossing ten 50ms slots while goroutines
		// race to reset them: every one of the 16 × 50 calls is counted.
		assert.Equal(t, throttle.Stats{Requests: 800, Accepts: 800}, thr.Stats())
	})
}

// A call that outlasts the window ends after its slot has been reused for a
// later period: it started outside the window, and is not counted in it.
func TestACallLongerThanTheWindowIsNotCountedInALaterPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := mustNew(t, throttle.Config{Window: 20 * time.Second}) // 1s slots
		var wg sync.WaitGroup
		wg.Go(func() {
			_ = thr.Execute(context.Background(), func(context.Context) error {
				time.Sleep(25 * time.Second)
				return errOverloaded
			})
		})
		time.Sleep(20*time.Second + 500*time.Millisecond) // the first slot serves period 20 now
		require.NoError(t, thr.Execute(context.Background(), fail(nil)))
		wg.Wait()
		assert.Equal(t, throttle.Stats{Requests: 1, Accepts: 1}, thr.Stats(),
			"the long call started 25s ago, outside the 20s window")
	})
}

func TestAZeroThrottleSaysToBuildItWithNew(t *testing.T) {
	for name, thr := range map[string]*throttle.Throttle{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			fn := func(context.Context) error { ran = true; return nil }
			err := thr.Execute(context.Background(), fn)
			assert.ErrorIs(t, err, throttle.ErrNotBuilt)
			assert.Contains(t, err.Error(), "throttle.New")
			if thr != nil {
				assert.ErrorIs(t, policy.MustNew("zero", thr).Execute(context.Background(), fn), throttle.ErrNotBuilt)
			}
			assert.False(t, ran)
			assert.Equal(t, throttle.Stats{}, thr.Stats())
			assert.Zero(t, thr.RejectionProbability())
		})
	}
}
