package otelhooks_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/health"
	"github.com/aragora/resilience/otelhooks"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/retry"
	"github.com/aragora/resilience/timeout"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var errDown = errors.New("upstream down")

func fail(context.Context) error { return errDown }

// values returns the int64 points of a counter or gauge, by the value of key.
func values(t *testing.T, m metricdata.Metrics, key attribute.Key, filter ...attribute.KeyValue) map[string]int64 {
	t.Helper()
	var points []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	default:
		t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	}
	out := map[string]int64{}
next:
	for _, dp := range points {
		for _, kv := range filter {
			if v, _ := dp.Attributes.Value(kv.Key); v != kv.Value {
				continue next
			}
		}
		v, _ := dp.Attributes.Value(key)
		out[v.String()] += dp.Value
	}
	return out
}

func TestRetryOptionsReportRetriesAndExhaustion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb, r := newCallbacks(t, "app")
		rp, err := retry.New(retry.Config{MaxRetries: 2, BaseDelay: 10 * time.Millisecond, Jitter: retry.NoJitter}, otelhooks.RetryOptions(cb)...)
		if err != nil {
			t.Fatal(err)
		}
		p := policy.MustNew("fetch", rp)
		if err := p.Execute(context.Background(), fail); !errors.Is(err, errDown) {
			t.Fatalf("Execute = %v, want %v", err, errDown)
		}
		got := collect(t, r)
		if v := values(t, got["app.retry.attempts"], otelhooks.AttrOperation); v["fetch"] != 2 {
			t.Errorf("retries = %v, want fetch: 2", v)
		}
		if v := values(t, got["app.retry.exhausted"], otelhooks.AttrOperation); v["fetch"] != 1 {
			t.Errorf("exhaustions = %v, want fetch: 1", v)
		}
		h := got["app.retry.delay"].Data.(metricdata.Histogram[float64]).DataPoints
		if len(h) != 1 || h[0].Count != 2 || h[0].Sum < 0.029 || h[0].Sum > 0.031 {
			t.Errorf("delays = %+v, want 2 summing to 30ms (10ms, then 20ms)", h)
		}
	})
}

func TestTimeoutOptionReportsTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb, r := newCallbacks(t, "app")
		to, err := timeout.New(50*time.Millisecond, otelhooks.TimeoutOption(cb))
		if err != nil {
			t.Fatal(err)
		}
		err = policy.MustNew("search", to).Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		if !errors.Is(err, timeout.ErrTimeout) {
			t.Fatalf("Execute = %v, want a timeout", err)
		}
		if v := values(t, collect(t, r)["app.timeouts"], otelhooks.AttrOperation); v["search"] != 1 {
			t.Errorf("timeouts = %v, want search: 1", v)
		}
	})
}

func TestObserveBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cb, r := newCallbacks(t, "app")
		b, err := breaker.New("db", breaker.Config{FailureThreshold: 2, SuccessThreshold: 1, Cooldown: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		unsubscribe := otelhooks.ObserveBreaker(cb, b)
		db := otelhooks.AttrBreaker.String("db")

		// Observed but unchanged: the gauge already shows it, closed.
		got := collect(t, r)
		if v := values(t, got["app.circuit_breaker.state"], otelhooks.AttrState, db); len(v) != 1 || v["closed"] != 1 {
			t.Errorf("state before any change = %v, want closed: 1", v)
		}
		if _, ok := got["app.circuit_breaker.state_changes"]; ok {
			t.Error("a change was counted before any happened")
		}

		for range 2 {
			_ = b.Execute(context.Background(), fail)
		}
		got = collect(t, r)
		if v := values(t, got["app.circuit_breaker.state"], otelhooks.AttrState, db); v["closed"] != 0 || v["open"] != 1 {
			t.Errorf("state after tripping = %v, want open: 1, closed: 0", v)
		}
		if v := values(t, got["app.circuit_breaker.state_changes"], otelhooks.AttrTo, db); v["open"] != 1 {
			t.Errorf("changes = %v, want one to open", v)
		}

		unsubscribe()
		time.Sleep(time.Second) // the cooldown, on the bubble's fake clock
		_ = b.Execute(context.Background(), func(context.Context) error { return nil })
		if b.State() != breaker.Closed {
			t.Fatalf("breaker is %v, want closed after a good trial", b.State())
		}
		if v := values(t, collect(t, r)["app.circuit_breaker.state_changes"], otelhooks.AttrTo, db); len(v) != 1 {
			t.Errorf("changes after unsubscribing were counted: %v", v)
		}
	})
}

func TestObserveBreakersCoversFutureBreakers(t *testing.T) {
	cb, r := newCallbacks(t, "app")
	var reg breaker.Registry
	defer otelhooks.ObserveBreakers(cb, &reg)()
	for _, name := range []string{"a", "b"} {
		b, err := reg.Get(name, breaker.Config{FailureThreshold: 1})
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Execute(context.Background(), fail)
	}
	if v := values(t, collect(t, r)["app.circuit_breaker.state"], otelhooks.AttrBreaker, otelhooks.AttrState.String("open")); v["a"] != 1 || v["b"] != 1 {
		t.Errorf("open breakers = %v, want a and b", v)
	}
}

func TestObserveHealth(t *testing.T) {
	cb, r := newCallbacks(t, "app")
	c, err := health.NewChecker("api", health.Config{FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	defer otelhooks.ObserveHealth(cb, c)()
	if err := c.Register("db", fail, health.WithCritical(true)); err != nil {
		t.Fatal(err)
	}
	c.CheckAll(context.Background())

	got := collect(t, r)
	if v := values(t, got["app.health.status"], otelhooks.AttrStatus, otelhooks.AttrCheck.String("api/db")); v["unhealthy"] != 1 || v["unknown"] != 0 {
		t.Errorf("status of api/db = %v, want unhealthy: 1, unknown: 0", v)
	}
	if v := values(t, got["app.health.status_changes"], otelhooks.AttrCheck, otelhooks.AttrTo.String("unhealthy")); v["api/db"] != 1 || v["api"] != 1 {
		t.Errorf("changes to unhealthy = %v, want one for api/db and one for the checker, api", v)
	}
}

func TestObserveIgnoresNil(t *testing.T) {
	cb, r := newCallbacks(t, "app")
	otelhooks.ObserveBreaker(cb, nil)()
	otelhooks.ObserveBreakers(cb, nil)()
	otelhooks.ObserveHealth(cb, nil)()
	b, _ := breaker.New("b", breaker.Config{})
	otelhooks.ObserveBreaker(nil, b)()
	if otelhooks.RetryOptions(nil) != nil || otelhooks.TimeoutOption(nil) != nil {
		t.Error("options for a nil cb")
	}
	if got := collect(t, r); len(got) != 0 {
		t.Errorf("recorded %v", keys(got))
	}
}
