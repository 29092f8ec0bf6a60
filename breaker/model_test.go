package breaker_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"pgregory.net/rapid"
)

// model is a reference breaker: the state machine as the documentation
// states it, written for clarity, with no concurrency, no packing and no
// incremental tallies. The property test drives a Breaker and a model with
// the same calls, outcomes and clock and checks that they agree.
type model struct {
	// the config, defaults applied
	failureThreshold, successThreshold, halfOpenMax int
	cooldown, maxCooldown                           time.Duration
	multiplier                                      float64
	windowed                                        bool
	size                                            int           // count-based window
	width                                           time.Duration // time-based window: a step
	buckets                                         int
	failRate, slowRate                              float64
	slowAfter                                       time.Duration // 0: not timed
	minCalls                                        int

	epoch     time.Time
	state     breaker.State // as recorded: an elapsed cooldown is applied lazily
	gen       int
	fails     int // consecutive failures
	successes int // trial successes
	trials    int
	trips     int
	openedAt  time.Time
	trialAt   time.Time
	calls     []modelCall // window mode: every call since the window was last emptied
}

type modelCall struct {
	at         time.Time
	fail, slow bool
}

// inflight is a call admitted by both the breaker and the model.
type inflight struct {
	done  func(error)
	kind  string // "closed", "trial", "pass"
	gen   int
	start time.Time
}

func (m *model) cooldownFor(trips int) time.Duration {
	d := float64(m.cooldown) * math.Pow(m.multiplier, float64(trips-1))
	return time.Duration(min(d, float64(m.maxCooldown)))
}

func (m *model) move(to breaker.State, now time.Time) {
	if to == breaker.Open {
		m.trips++
		m.openedAt = now
		m.trialAt = now.Add(m.cooldownFor(m.trips))
	}
	if to != breaker.Open && to != breaker.HalfOpen {
		m.trips = 0
	}
	m.state = to
	m.gen++
	m.fails, m.successes, m.calls = 0, 0, nil
	m.trials = 0 // the trials of a half-open period hold no slot of a later one
}

// admit returns the kind of call admitted, or the rejection's state.
func (m *model) admit(now time.Time) (kind string, rejected breaker.State) {
	if m.state == breaker.Open && !now.Before(m.trialAt) {
		m.move(breaker.HalfOpen, now)
	}
	switch m.state {
	case breaker.Closed:
		return "closed", 0
	case breaker.Disabled:
		return "pass", 0
	case breaker.HalfOpen:
		if m.trials < m.halfOpenMax {
			m.trials++
			return "trial", 0
		}
	}
	return "", m.state
}

// window returns the calls in the window at now.
func (m *model) window(now time.Time) []modelCall {
	if m.size > 0 {
		return m.calls[max(0, len(m.calls)-m.size):]
	}
	step := func(t time.Time) int64 { return int64(t.Sub(m.epoch) / m.width) }
	var in []modelCall
	for _, c := range m.calls {
		if step(c.at) > step(now)-int64(m.buckets) {
			in = append(in, c)
		}
	}
	return in
}

func (m *model) finish(c inflight, v breaker.Verdict, now time.Time) {
	slow := m.slowAfter > 0 && now.Sub(c.start) >= m.slowAfter
	switch c.kind {
	case "trial":
		if c.gen != m.gen || m.state != breaker.HalfOpen {
			return // stale: its slot went with its half-open period
		}
		m.trials--
		if v == breaker.Success && slow {
			v = breaker.Failure
		}
		switch v {
		case breaker.Success:
			m.successes++
			if m.successes >= m.successThreshold {
				m.move(breaker.Closed, now)
			}
		case breaker.Failure:
			m.move(breaker.Open, now)
		}
	case "closed":
		if c.gen != m.gen || m.state != breaker.Closed || v == breaker.Ignore {
			return
		}
		if !m.windowed {
			if v == breaker.Success {
				m.fails = 0
			} else if m.fails++; m.fails >= m.failureThreshold {
				m.move(breaker.Open, now)
			}
			return
		}
		m.calls = append(m.calls, modelCall{at: now, fail: v == breaker.Failure, slow: slow})
		in := m.window(now)
		var f, s int
		for _, c := range in {
			if c.fail {
				f++
			}
			if c.slow {
				s++
			}
		}
		n := float64(len(in))
		if len(in) >= m.minCalls && (float64(f)/n >= m.failRate || m.slowAfter > 0 && float64(s)/n >= m.slowRate) {
			m.move(breaker.Open, now)
		}
	}
}

// status is what Status should return at now.
func (m *model) status(now time.Time) breaker.Status {
	st := breaker.Status{State: m.state, Trials: m.trials, Trips: m.trips}
	switch m.state {
	case breaker.Open:
		st.OpenedAt = m.openedAt
		if now.Before(m.trialAt) {
			st.NextTrial = m.trialAt
		} else {
			st.State = breaker.HalfOpen
		}
	case breaker.HalfOpen:
		st.OpenedAt = m.openedAt
		st.Successes = m.successes
	case breaker.Closed:
		if !m.windowed {
			st.Failures = m.fails
			break
		}
		for _, c := range m.window(now) {
			st.Calls++
			if c.fail {
				st.Failures++
			}
			if c.slow {
				st.SlowCalls++
			}
		}
		if st.Calls > 0 {
			st.FailureRate = float64(st.Failures) / float64(st.Calls)
			st.SlowCallRate = float64(st.SlowCalls) / float64(st.Calls)
		}
	}
	return st
}

// drawConfig draws a config, and the model of it.
func drawConfig(t *rapid.T) (breaker.Config, *model) {
	cfg := breaker.Config{
		// Zero, the default, comes last: small values reach more states.
		FailureThreshold:    rapid.SampledFrom([]int{1, 2, 3, 0}).Draw(t, "FailureThreshold"),
		SuccessThreshold:    rapid.SampledFrom([]int{2, 1, 0}).Draw(t, "SuccessThreshold"),
		HalfOpenMaxRequests: rapid.SampledFrom([]int{2, 1, 3, 0}).Draw(t, "HalfOpenMaxRequests"),
		Cooldown:            rapid.SampledFrom([]time.Duration{time.Second, 10 * time.Second, 0}).Draw(t, "Cooldown"),
		CooldownMultiplier:  rapid.SampledFrom([]float64{0, 1, 1.5, 2}).Draw(t, "CooldownMultiplier"),
	}
	m := &model{
		failureThreshold: cmp0(cfg.FailureThreshold, 5),
		successThreshold: cmp0(cfg.SuccessThreshold, 3),
		halfOpenMax:      cmp0(cfg.HalfOpenMaxRequests, 3),
		cooldown:         cmp0(cfg.Cooldown, time.Minute),
		multiplier:       max(cfg.CooldownMultiplier, 1),
	}
	if rapid.Bool().Draw(t, "MaxCooldown set") {
		cfg.MaxCooldown = 4 * m.cooldown
	}
	m.maxCooldown = cmp0(cfg.MaxCooldown, 10*m.cooldown)
	switch rapid.SampledFrom([]string{"consecutive", "count", "time"}).Draw(t, "mode") {
	case "consecutive":
		return cfg, m
	case "count":
		m.size = rapid.IntRange(1, 6).Draw(t, "Size")
		cfg.Window = &breaker.Window{Size: m.size, MinimumCalls: rapid.IntRange(0, m.size).Draw(t, "MinimumCalls")}
		m.minCalls = cmp0(cfg.Window.MinimumCalls, m.size)
	case "time":
		m.buckets = rapid.SampledFrom([]int{1, 2, 10}).Draw(t, "Buckets")
		d := rapid.SampledFrom([]time.Duration{10 * time.Second, time.Minute}).Draw(t, "Duration")
		cfg.Window = &breaker.Window{Duration: d, Buckets: m.buckets, MinimumCalls: rapid.IntRange(1, 5).Draw(t, "MinimumCalls")}
		m.width = d / time.Duration(m.buckets)
		m.minCalls = cfg.Window.MinimumCalls
	}
	m.windowed = true
	cfg.Window.FailureRateThreshold = rapid.SampledFrom([]float64{0, 0.3, 0.5, 1}).Draw(t, "FailureRateThreshold")
	m.failRate = cmp0(cfg.Window.FailureRateThreshold, 0.5)
	if rapid.Bool().Draw(t, "slow calls") {
		cfg.Window.SlowCallDuration = 2 * time.Second
		cfg.Window.SlowCallRateThreshold = rapid.SampledFrom([]float64{0, 0.5}).Draw(t, "SlowCallRateThreshold")
		m.slowAfter = cfg.Window.SlowCallDuration
		m.slowRate = cmp0(cfg.Window.SlowCallRateThreshold, 1)
	}
	return cfg, m
}

func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// actions are the steps of the property test. ForceOpen and Disable hold the
// breaker still until a Reset, so they come rarely; and not last, as rapid
// favours the ends of the slice.
var actions = slices.Concat(
	slices.Repeat([]string{"call", "end", "sleep", "call", "end"}, 8),
	[]string{"ForceOpen", "Reset", "Disable", "Reset", "Reset"},
	slices.Repeat([]string{"call", "end", "sleep", "call", "end"}, 8),
	[]string{"Reset"})

func TestBreakerAgreesWithTheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rapid.SyncTest(t, func(t *rapid.T) {
			cfg, m := drawConfig(t)
			m.epoch = time.Now()
			b, err := breaker.New("model", cfg, noMeter)
			if err != nil {
				t.Fatalf("New(%+v): %v", cfg, err)
			}
			var running []inflight
			steps := 1000
			for range steps {
				now := time.Now()
				switch rapid.SampledFrom(actions).Draw(t, "action") {
				case "call":
					permit, err := b.Allow()
					kind, rejected := m.admit(now)
					if kind == "" {
						checkRejection(t, err, rejected, m.trialAt.Sub(now))
						continue
					}
					if err != nil {
						t.Fatalf("rejected (%v), the model admits a %s call", err, kind)
					}
					running = append(running, inflight{done: permit.Done, kind: kind, gen: m.gen, start: now})
				case "end":
					if len(running) == 0 {
						continue
					}
					i := rapid.IntRange(0, len(running)-1).Draw(t, "which")
					c := running[i]
					running = append(running[:i], running[i+1:]...)
					var err error
					v := rapid.SampledFrom([]breaker.Verdict{breaker.Success, breaker.Ignore, breaker.Failure}).Draw(t, "outcome")
					switch v {
					case breaker.Failure:
						err = errBoom
					case breaker.Ignore:
						err = context.Canceled
					}
					c.done(err)
					m.finish(c, v, now)
				case "sleep":
					time.Sleep(rapid.SampledFrom([]time.Duration{
						time.Nanosecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
						5 * time.Second, 10 * time.Second, time.Minute,
					}).Draw(t, "sleep"))
				case "ForceOpen":
					b.ForceOpen()
					if m.state != breaker.ForcedOpen {
						m.move(breaker.ForcedOpen, now)
					}
				case "Disable":
					b.Disable()
					if m.state != breaker.Disabled {
						m.move(breaker.Disabled, now)
					}
				case "Reset":
					b.Reset()
					m.move(breaker.Closed, now)
				}
				now = time.Now()
				want := m.status(now)
				want.Name = "model"
				if got := b.Status(); !statusEqual(got, want) {
					t.Fatalf("Status\n got  %+v\n want %+v", got, want)
				}
				if got := b.State(); got != want.State {
					t.Fatalf("State() = %v, model %v", got, want.State)
				}
			}
			for _, c := range running {
				c.done(nil)
			}
			if got := b.Status().Trials; got != 0 {
				t.Fatalf("all calls ended, Trials = %d", got)
			}
		})
	})
}

func checkRejection(t *rapid.T, err error, state breaker.State, retryAfter time.Duration) {
	var oe *breaker.OpenError
	if !errors.As(err, &oe) {
		t.Fatalf("admitted (error %v), the model rejects in state %v", err, state)
	}
	if oe.State != state {
		t.Fatalf("rejected in state %v, the model in %v", oe.State, state)
	}
	want := time.Duration(0)
	if state == breaker.Open {
		want = retryAfter
	}
	if got := oe.RetryAfter(); got != want {
		t.Fatalf("RetryAfter() = %v, model %v", got, want)
	}
}

func statusEqual(a, b breaker.Status) bool {
	return a.Name == b.Name && a.State == b.State && a.Counts == b.Counts &&
		a.FailureRate == b.FailureRate && a.SlowCallRate == b.SlowCallRate &&
		a.Trials == b.Trials && a.Trips == b.Trips &&
		a.OpenedAt.Equal(b.OpenedAt) && a.NextTrial.Equal(b.NextTrial)
}
