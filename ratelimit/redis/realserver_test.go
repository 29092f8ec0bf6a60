package redis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	sharedlimit "github.com/aragora/resilience/ratelimit/redis"
)

// The tests of this file run against a real redis-server that they start
// themselves, for real time: they are the ones that show the limit holds
// across replicas and that the limiter survives Redis dying.

func TestTwoReplicasShareOneLimit(t *testing.T) {
	s := startServer(t)
	const (
		rate     = 200
		burst    = 20
		duration = 10 * time.Second
	)
	// A timeout generous for a loaded machine: this test is about the
	// limit Redis keeps, not about falling back.
	cfg := sharedlimit.Config{Rate: ratelimit.PerSecond(rate), Burst: burst, Replicas: 2, Timeout: time.Second}
	replicas := []*sharedlimit.Limiter{mustNew(t, s.client(t), cfg), mustNew(t, s.client(t), cfg)}

	var perSecond [int(duration/time.Second) + 1]atomic.Int64
	var total, fallbacks, calls atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range replicas {
		for range 16 {
			wg.Go(func() {
				for time.Since(start) < duration {
					// A wait of up to 200ms lets callers hold the turns ahead,
					// so that a moment without CPU on a busy machine does not
					// leave permits unused; calls beyond it are refused.
					r, err := l.Reserve(context.Background(), "partner-api", 1, 200*time.Millisecond)
					calls.Add(1)
					if !assert.NoError(t, err) {
						return
					}
					if r.Backend != sharedlimit.BackendRedis {
						fallbacks.Add(1)
					}
					if r.OK {
						// Counted at the permit's turn, which a caller would
						// wait for.
						if sec := (time.Since(start) + r.Wait) / time.Second; sec < duration/time.Second {
							perSecond[sec].Add(1)
							total.Add(1)
						}
					}
					time.Sleep(5 * time.Millisecond) // pace: 32 callers offer ~6,000 calls/s
				}
			})
		}
	}
	wg.Wait()

	var seconds []int64
	for i := range int(duration / time.Second) {
		seconds = append(seconds, perSecond[i].Load())
	}
	t.Logf("%d calls, %d admitted in %v, per second: %v", calls.Load(), total.Load(), duration, seconds)
	assert.Zero(t, fallbacks.Load(), "decisions taken without Redis")
	want := float64(rate) * duration.Seconds()
	assert.InDelta(t, want, float64(total.Load()), want*0.05, "admitted total")
	for i, n := range seconds {
		assert.LessOrEqual(t, n, int64(rate+burst), "second %d admitted more than the rate and the burst", i)
	}
}

func TestEachModeBehavesAsDocumentedWhenRedisDies(t *testing.T) {
	const (
		timeout  = 200 * time.Millisecond
		cooldown = time.Second
		slack    = 100 * time.Millisecond // scheduling on a busy machine
	)
	for _, tt := range []struct {
		mode           sharedlimit.Mode
		backend        string
		contextTimeout bool // the client bounds its round trips itself
	}{
		{sharedlimit.FailLocal, sharedlimit.BackendLocal, false},
		{sharedlimit.FailLocal, sharedlimit.BackendLocal, true},
		{sharedlimit.FailOpen, sharedlimit.BackendFailOpen, false},
		{sharedlimit.FailClosed, sharedlimit.BackendFailClosed, false},
		{sharedlimit.FailClosed, sharedlimit.BackendFailClosed, true},
	} {
		name := tt.backend
		if tt.contextTimeout {
			name += "/client with context timeouts"
		}
		t.Run(name, func(t *testing.T) {
			s := startServer(t)
			rec := oteltest.NewRecorder()
			l, err := sharedlimit.New("partner", s.clientWith(t, tt.contextTimeout), sharedlimit.Config{
				Rate: ratelimit.PerSecond(100), Burst: 10, Replicas: 2, Mode: tt.mode,
				Timeout: timeout, Breaker: breakerConfig(cooldown),
			}, sharedlimit.WithMeterProvider(rec.MP))
			require.NoError(t, err)
			p := policy.MustNew("partner", mustPolicy(t, l)).
				With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))
			gauge := func() map[string]int64 {
				return oteltest.Int64s(t, rec.Reader, sharedlimit.MetricBackend, "backend")
			}

			// call runs one call, and fails the test if it took longer than
			// the timeout allows.
			call := func() error {
				start := time.Now()
				err := p.Execute(context.Background(), func(context.Context) error { return nil })
				assert.LessOrEqual(t, time.Since(start), timeout+slack, "a call blocked past the timeout")
				return err
			}
			// every calls every 10ms for d, and counts the calls made and
			// admitted.
			var calls int
			every := func(d time.Duration, each func(error)) (admitted int) {
				calls = 0
				for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
					err := call()
					calls++
					if err == nil {
						admitted++
					} else {
						require.ErrorIs(t, err, ratelimit.ErrRateLimited)
					}
					if each != nil {
						each(err)
					}
				}
				return admitted
			}

			require.NoError(t, call())
			assert.Equal(t, sharedlimit.BackendRedis, l.Backend())
			assert.Equal(t, int64(1), gauge()["redis"])

			// Hung: the server stops answering, its connections stay open.
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGSTOP))
			every(500*time.Millisecond, nil)
			assert.Equal(t, tt.backend, l.Backend(), "while Redis hangs")
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGCONT))

			// Dead: killed mid-test.
			s.kill()
			admitted := every(2*time.Second, nil)
			assert.Equal(t, tt.backend, l.Backend())
			assert.Equal(t, int64(1), gauge()[tt.backend])
			assert.Zero(t, gauge()["redis"])
			switch tt.mode {
			case sharedlimit.FailLocal:
				// 100/s over 2 replicas: 50/s and a burst of 5, of the
				// ~200 calls offered in 2s.
				assert.InDelta(t, 105, admitted, 20, "admitted locally in 2s, of %d calls", calls)
			case sharedlimit.FailOpen:
				assert.Equal(t, calls, admitted, "every call admitted")
			case sharedlimit.FailClosed:
				assert.Zero(t, admitted, "admitted while failing closed")
				var re *ratelimit.RejectedError
				require.ErrorAs(t, call(), &re)
				assert.Positive(t, re.RetryAfter())
				assert.LessOrEqual(t, re.RetryAfter(), cooldown, "retry after more than the breaker's cooldown")
			}

			// Back: the limiter returns to Redis within one cooldown.
			s.restart()
			back := time.Now()
			var recovered time.Duration
			var gaugeBack map[string]int64
			every(cooldown+timeout+2*slack, func(error) {
				if recovered == 0 && l.Backend() == sharedlimit.BackendRedis {
					recovered = time.Since(back)
					gaugeBack = gauge()
				}
			})
			require.NotZero(t, recovered, "still on %s a cooldown after Redis came back", l.Backend())
			t.Logf("back on Redis %v after it restarted", recovered)
			assert.Equal(t, int64(1), gaugeBack["redis"], "gauge once back on Redis: %v", gaugeBack)
			assert.Zero(t, gaugeBack[tt.backend], "gauge once back on Redis: %v", gaugeBack)

			var changes []string
			for _, e := range rec.Events("partner execute") {
				if e.Name == "ratelimit.backend_change" {
					changes = append(changes, e.Attrs[policy.AttrStateFrom].AsString()+"→"+e.Attrs[policy.AttrStateTo].AsString())
				}
			}
			// Hung, then dead without a call between: one switch each way.
			assert.Equal(t, []string{"redis→" + tt.backend, tt.backend + "→redis"}, changes)
		})
	}
}

func mustPolicy(t testing.TB, l ratelimit.Limiter) *ratelimit.RateLimiter {
	t.Helper()
	r, err := ratelimit.New("partner-limit", l)
	require.NoError(t, err)
	return r
}
