package health_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
)

func TestNewCheckerRejectsBadConfigNamingTheField(t *testing.T) {
	tests := []struct {
		name    string
		checker string
		cfg     health.Config
		opts    []health.Option
		want    string
	}{
		{"empty name", "", health.Config{}, nil, "name"},
		{"negative interval", "api", health.Config{CheckInterval: -time.Second}, nil, "CheckInterval"},
		{"negative threshold", "api", health.Config{FailureThreshold: -1}, nil, "FailureThreshold"},
		{"negative timeout", "api", health.Config{Timeout: -time.Second}, nil, "Timeout"},
		{"negative cache TTL", "api", health.Config{CacheTTL: -time.Second}, nil, "CacheTTL"},
		{"jitter of 1", "api", health.Config{}, []health.Option{health.WithJitter(1)}, "WithJitter"},
		{"negative jitter", "api", health.Config{}, []health.Option{health.WithJitter(-0.1)}, "WithJitter"},
		{"NaN jitter", "api", health.Config{}, []health.Option{health.WithJitter(math.NaN())}, "WithJitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := health.NewChecker(tt.checker, tt.cfg, tt.opts...)
			if err == nil {
				c.Stop()
				t.Fatal("NewChecker succeeded, want an error")
			}
			assert.ErrorIs(t, err, health.ErrInvalidConfig)
			assert.ErrorContains(t, err, tt.want, "the error names the field")
			assert.True(t, strings.HasPrefix(err.Error(), "health: "), "%q", err)
		})
	}
}

func TestNewCheckerFillsInDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  health.Config
		want health.Config
	}{
		{"zero", health.Config{},
			health.Config{CheckInterval: 30 * time.Second, FailureThreshold: 3, Timeout: 10 * time.Second}},
		{"short interval: half of it", health.Config{CheckInterval: time.Second},
			health.Config{CheckInterval: time.Second, FailureThreshold: 3, Timeout: 500 * time.Millisecond}},
		{"explicit", health.Config{CheckInterval: time.Minute, FailureThreshold: 1, Timeout: time.Second, CacheTTL: 5 * time.Second},
			health.Config{CheckInterval: time.Minute, FailureThreshold: 1, Timeout: time.Second, CacheTTL: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, tt.cfg, nil) // a nil option is ignored
			if got := c.Config(); got != tt.want {
				t.Errorf("Config() = %+v, want %+v", got, tt.want)
			}
			if c.Name() != "api" {
				t.Errorf("Name() = %q", c.Name())
			}
		})
	}
}

func TestRegisterRejectsBadChecks(t *testing.T) {
	c := newChecker(t, health.Config{})
	mustRegister(t, c, "db", pass)
	tests := []struct {
		name  string
		check string
		fn    func(context.Context) error
		opts  []health.CheckOption
		want  string
	}{
		{"duplicate name", "db", pass, nil, "duplicate"},
		{"empty name", "", pass, nil, "name"},
		{"nil function", "cache", nil, nil, "nil function"},
		{"negative timeout", "cache", pass, []health.CheckOption{health.WithTimeout(-time.Second)}, "WithTimeout"},
		{"negative threshold", "cache", pass, []health.CheckOption{health.WithFailureThreshold(-1)}, "WithFailureThreshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Register(tt.check, tt.fn, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register = %v, want an error mentioning %q", err, tt.want)
			}
			if tt.name != "duplicate name" {
				assert.ErrorIs(t, err, health.ErrInvalidConfig)
			}
		})
	}
	if err := c.Register("db", pass); !errors.Is(err, health.ErrDuplicateCheck) {
		t.Errorf("duplicate: %v does not match ErrDuplicateCheck", err)
	}
	c.Stop()
	if err := c.Register("late", pass); !errors.Is(err, health.ErrStopped) {
		t.Errorf("Register after Stop = %v, want ErrStopped", err)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[health.Status]string{
		health.Unknown: "unknown", health.Healthy: "healthy", health.Degraded: "degraded",
		health.Unhealthy: "unhealthy", health.Status(42): "invalid",
	} {
		if s.String() != want {
			t.Errorf("Status(%d).String() = %q, want %q", s, s, want)
		}
		if b, _ := s.MarshalText(); string(b) != want {
			t.Errorf("Status(%d).MarshalText() = %q, want %q", s, b, want)
		}
	}
}

// TestFailureThresholdCounting runs a check through a script of outcomes and
// checks its status, and the checker's, after each run.
func TestFailureThresholdCounting(t *testing.T) {
	H, D, U := health.Healthy, health.Degraded, health.Unhealthy
	degraded := fmt.Errorf("%w: lagging", health.ErrDegraded)
	tests := []struct {
		name         string
		opts         []health.CheckOption
		runs         []error
		want         []health.Status
		wantFailures []int
	}{
		{"two failures then a success stay healthy", nil,
			[]error{errBoom, errBoom, nil}, []health.Status{H, H, H}, []int{1, 2, 0}},
		{"three failures make a critical check unhealthy", nil,
			[]error{errBoom, errBoom, errBoom, errBoom}, []health.Status{H, H, U, U}, []int{1, 2, 3, 4}},
		{"one success makes it healthy again", nil,
			[]error{errBoom, errBoom, errBoom, nil}, []health.Status{H, H, U, H}, []int{1, 2, 3, 0}},
		{"a success resets the count", nil,
			[]error{errBoom, errBoom, nil, errBoom, errBoom}, []health.Status{H, H, H, H, H}, []int{1, 2, 0, 1, 2}},
		{"a non-critical check is only degraded", []health.CheckOption{health.WithCritical(false)},
			[]error{errBoom, errBoom, errBoom}, []health.Status{H, H, D}, []int{1, 2, 3}},
		{"ErrDegraded degrades even a critical check", nil,
			[]error{degraded, degraded, degraded, errBoom}, []health.Status{H, H, D, U}, []int{1, 2, 3, 4}},
		{"a threshold of 1 counts at once", []health.CheckOption{health.WithFailureThreshold(1)},
			[]error{errBoom, nil}, []health.Status{U, H}, []int{1, 0}},
		{"a threshold of its own", []health.CheckOption{health.WithFailureThreshold(5)},
			[]error{errBoom, errBoom, errBoom, errBoom, errBoom}, []health.Status{H, H, H, H, U}, []int{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, health.Config{})
			mustRegister(t, c, "db", newScript(tt.runs...).check, tt.opts...)
			if got := c.Report().Checks["db"].Status; got != health.Unknown {
				t.Fatalf("before the first run: %v, want unknown", got)
			}
			for i := range tt.runs {
				r := c.CheckAll(context.Background())
				got := r.Checks["db"]
				if got.Status != tt.want[i] || got.ConsecutiveFailures != tt.wantFailures[i] {
					t.Fatalf("after run %d: %v with %d failures, want %v with %d",
						i+1, got.Status, got.ConsecutiveFailures, tt.want[i], tt.wantFailures[i])
				}
				if r.Status != got.Status {
					t.Errorf("after run %d: overall %v, want the only check's %v", i+1, r.Status, got.Status)
				}
				if !errors.Is(got.LastError, tt.runs[i]) || (tt.runs[i] == nil) != (got.LastError == nil) {
					t.Errorf("after run %d: LastError = %v, want %v", i+1, got.LastError, tt.runs[i])
				}
			}
		})
	}
}

func TestOverallStatusIsTheMostSevere(t *testing.T) {
	H, D, U, X := health.Healthy, health.Degraded, health.Unhealthy, health.Unknown
	tests := []struct {
		name   string
		checks []health.Status // X: critical, registered after the run, so never run
		want   health.Status
	}{
		{"no checks", nil, H},
		{"all healthy", []health.Status{H, H}, H},
		{"one degraded", []health.Status{H, D}, D},
		{"one unhealthy", []health.Status{D, U, H}, U},
		{"one not run yet", []health.Status{H, X}, X},
		{"a critical check not run beats degraded", []health.Status{X, D}, X},
		{"unhealthy beats all", []health.Status{X, D, U}, U},
		{"nothing run", []health.Status{X, X}, X},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, health.Config{FailureThreshold: 1})
			for i, s := range tt.checks {
				fn := pass
				if s == D || s == U {
					fn = func(context.Context) error { return errBoom }
				}
				if s != X {
					mustRegister(t, c, fmt.Sprint("check", i), fn, health.WithCritical(s == U))
				}
			}
			c.CheckAll(context.Background())
			for i, s := range tt.checks {
				if s == X {
					mustRegister(t, c, fmt.Sprint("check", i), pass)
				}
			}
			r := c.Report()
			for i, s := range tt.checks {
				if got := r.Checks[fmt.Sprint("check", i)].Status; got != s {
					t.Errorf("check%d = %v, want %v", i, got, s)
				}
			}
			if r.Status != tt.want {
				t.Errorf("overall = %v, want %v", r.Status, tt.want)
			}
		})
	}
}

func TestReportGivesLatencyLastErrorAndLastPassed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{})
		s := newScript(nil, errBoom)
		mustRegister(t, c, "db", func(ctx context.Context) error {
			time.Sleep(40 * time.Millisecond)
			return s.check(ctx)
		}, health.WithCritical(false))
		start := time.Now()

		r := c.CheckAll(context.Background())
		db := r.Checks["db"]
		passed := start.Add(40 * time.Millisecond)
		want := health.CheckResult{Name: "db", Status: health.Healthy, Critical: false,
			Latency: 40 * time.Millisecond, LastRun: passed, LastPassed: passed}
		if db != want {
			t.Errorf("after a pass: %+v, want %+v", db, want)
		}
		if r.Checker != "api" || !r.Time.Equal(passed) {
			t.Errorf("report of %q at %v, want api at %v", r.Checker, r.Time, passed)
		}

		time.Sleep(time.Second)
		db = c.CheckAll(context.Background()).Checks["db"]
		failed := passed.Add(time.Second + 40*time.Millisecond)
		want = health.CheckResult{Name: "db", Status: health.Healthy, ConsecutiveFailures: 1, LastError: errBoom,
			Latency: 40 * time.Millisecond, LastRun: failed, LastPassed: passed}
		if db != want {
			t.Errorf("after a failure: %+v, want %+v", db, want)
		}
	})
}

func TestChecksRunConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{})
		for _, name := range []string{"a", "b", "c"} {
			mustRegister(t, c, name, func(ctx context.Context) error {
				time.Sleep(time.Second)
				return nil
			})
		}
		start := time.Now()
		r := c.CheckAll(context.Background())
		if d := time.Since(start); d != time.Second {
			t.Errorf("CheckAll of three 1s checks took %v, want 1s", d)
		}
		if r.Status != health.Healthy {
			t.Errorf("status %v", r.Status)
		}
	})
}

func TestAPanickingCheckFailsAndGoesNoFurther(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"a string", "kaboom"},
		{"an error", errBoom},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, health.Config{FailureThreshold: 1})
			mustRegister(t, c, "db", func(context.Context) error { panic(tt.value) })
			mustRegister(t, c, "cache", pass)

			r := c.CheckAll(context.Background())
			db := r.Checks["db"]
			var pe *policy.PanicError
			if !errors.As(db.LastError, &pe) {
				t.Fatalf("LastError = %v, want a *policy.PanicError", db.LastError)
			}
			if tt.value != nil && pe.Value != tt.value {
				t.Errorf("panic value %v, want %v", pe.Value, tt.value)
			}
			if len(pe.Stack) == 0 {
				t.Error("no stack")
			}
			if db.Status != health.Unhealthy || db.ConsecutiveFailures != 1 {
				t.Errorf("db = %v with %d failures, want unhealthy with 1", db.Status, db.ConsecutiveFailures)
			}
			if r.Checks["cache"].Status != health.Healthy {
				t.Errorf("the other check: %v", r.Checks["cache"].Status)
			}
		})
	}
}

func TestCancelledContexts(t *testing.T) {
	t.Run("a context already done runs nothing", func(t *testing.T) {
		c := newChecker(t, health.Config{})
		s := newScript(errBoom)
		mustRegister(t, c, "db", s.check)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := c.CheckAll(ctx)
		if s.Calls() != 0 || r.Status != health.Unknown || r.Checks["db"].ConsecutiveFailures != 0 {
			t.Errorf("calls %d, report %+v: want nothing run", s.Calls(), r)
		}
	})
	t.Run("a caller that gives up does not fail the check", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newChecker(t, health.Config{Timeout: time.Second})
			var sawCancel bool
			mustRegister(t, c, "db", func(ctx context.Context) error {
				select {
				case <-time.After(300 * time.Millisecond):
					return nil
				case <-ctx.Done():
					sawCancel = true
					return ctx.Err()
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			r := c.CheckAll(ctx)
			if d := time.Since(start); d != 100*time.Millisecond {
				t.Errorf("CheckAll returned after %v, want at the caller's 100ms", d)
			}
			if r.Checks["db"].Status != health.Unknown {
				t.Errorf("at the caller's deadline: %v, want unknown (still running)", r.Checks["db"].Status)
			}
			synctest.Wait()
			time.Sleep(200 * time.Millisecond)
			synctest.Wait()
			db := c.Report().Checks["db"]
			if sawCancel || db.Status != health.Healthy || db.ConsecutiveFailures != 0 {
				t.Errorf("after the run: %+v (saw cancel: %v), want a recorded pass", db, sawCancel)
			}
		})
	})
}

func TestConcurrentCheckAllsShareOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{})
		s := newScript(errBoom)
		mustRegister(t, c, "db", func(ctx context.Context) error {
			time.Sleep(time.Second)
			return s.check(ctx)
		})
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if r := c.CheckAll(context.Background()); r.Checks["db"].ConsecutiveFailures != 1 {
					t.Errorf("a caller saw %d failures, want the shared run's 1", r.Checks["db"].ConsecutiveFailures)
				}
			})
		}
		wg.Wait()
		if s.Calls() != 1 {
			t.Errorf("check ran %d times for 10 concurrent CheckAlls, want 1", s.Calls())
		}
	})
}

// TestConcurrentUse runs, registers, reads and listens from many goroutines
// at once: under -race it proves the locking, and the listener's view proves
// that changes arrive once each and in order, each starting where the last
// one of its check ended.
func TestConcurrentUse(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	var flip sync.Mutex
	fail := false
	mustRegister(t, c, "db", func(context.Context) error {
		flip.Lock()
		defer flip.Unlock()
		fail = !fail
		if fail {
			return errBoom
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[string][]health.StatusChange{}
	defer c.OnStatusChange(func(ch health.StatusChange) {
		mu.Lock()
		defer mu.Unlock()
		seen[ch.Check] = append(seen[ch.Check], ch)
	})()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for j := range 20 {
				switch (i + j) % 3 {
				case 0:
					c.CheckAll(context.Background())
				case 1:
					_ = c.Report()
				case 2:
					_ = c.Register(fmt.Sprint("extra", i, j), pass)
				}
			}
		})
	}
	wg.Wait()
	c.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(seen["db"]) < 2 {
		t.Errorf("db changed status %d times, want several", len(seen["db"]))
	}
	for check, changes := range seen {
		for k := 1; k < len(changes); k++ {
			if changes[k].From != changes[k-1].To || changes[k].From == changes[k].To {
				t.Fatalf("check %q: change %d %v follows %v", check, k, changes[k], changes[k-1])
			}
		}
	}
	if r := c.Report(); len(seen[""]) > 0 && seen[""][len(seen[""])-1].To != r.Status {
		t.Errorf("last overall change to %v, report says %v", seen[""][len(seen[""])-1].To, r.Status)
	}
}

func TestCacheTTLReusesResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CacheTTL: 5 * time.Second})
		s := newScript()
		mustRegister(t, c, "db", s.check)
		c.CheckAll(context.Background())
		time.Sleep(4 * time.Second)
		c.CheckAll(context.Background())
		if s.Calls() != 1 {
			t.Errorf("within the TTL: %d runs, want 1", s.Calls())
		}
		time.Sleep(time.Second)
		c.CheckAll(context.Background())
		if s.Calls() != 2 {
			t.Errorf("at the TTL: %d runs, want 2", s.Calls())
		}
	})
}

func TestNoCacheRunsEveryTime(t *testing.T) {
	c := newChecker(t, health.Config{})
	s := newScript()
	mustRegister(t, c, "db", s.check)
	for range 3 {
		c.CheckAll(context.Background())
	}
	if s.Calls() != 3 {
		t.Errorf("%d runs for 3 CheckAlls, want 3", s.Calls())
	}
}

func TestAStoppedCheckerRunsNothing(t *testing.T) {
	c := newChecker(t, health.Config{})
	s := newScript()
	mustRegister(t, c, "db", s.check)
	c.CheckAll(context.Background())
	c.Stop()
	c.Stop() // twice is fine
	r := c.CheckAll(context.Background())
	if s.Calls() != 1 || r.Checks["db"].Status != health.Healthy {
		t.Errorf("after Stop: %d runs, status %v; want the last result and no run", s.Calls(), r.Checks["db"].Status)
	}
}
