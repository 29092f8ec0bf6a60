package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/health"
)

func ExampleNewChecker() {
	// Checks run every 30s in the background once started; a check counts as
	// failing after 3 failed runs in a row.
	checker, err := health.NewChecker("database", health.Config{
		CheckInterval:    30 * time.Second,
		FailureThreshold: 3,
	})
	if err != nil {
		panic(err)
	}
	defer checker.Stop()

	checker.Register("postgres", func(ctx context.Context) error {
		return nil // db.PingContext(ctx)
	})
	checker.Register("replica", func(ctx context.Context) error {
		return errors.New("connection refused")
	}, health.WithCritical(false), health.WithFailureThreshold(1))

	report := checker.CheckAll(context.Background())
	fmt.Println(report.Status)
	fmt.Println(report.Checks["postgres"].Status)
	fmt.Println(report.Checks["replica"].Status, report.Checks["replica"].LastError)
	// Output:
	// degraded
	// healthy
	// degraded connection refused
}

func ExampleChecker_OnStatusChange() {
	checker, _ := health.NewChecker("api", health.Config{FailureThreshold: 2})
	defer checker.Stop()
	failing := false
	checker.Register("db", func(context.Context) error {
		if failing {
			return errors.New("timeout")
		}
		return nil
	})
	// Each change of a check's status, and of the overall status, once.
	checker.OnStatusChange(func(c health.StatusChange) {
		if c.Check != "" { // "" is the checker's overall status
			fmt.Printf("%s/%s: %v -> %v\n", c.Checker, c.Check, c.From, c.To)
		}
	})

	checker.CheckAll(context.Background())
	failing = true
	checker.CheckAll(context.Background()) // one failure: below the threshold
	checker.CheckAll(context.Background())
	// Output:
	// api/db: unknown -> healthy
	// api/db: healthy -> unhealthy
}

func ExampleChecker_Handler() {
	checker, _ := health.NewChecker("api", health.Config{FailureThreshold: 1})
	defer checker.Stop()
	checker.Register("db", func(context.Context) error {
		return errors.New("dial tcp 10.0.0.7:5432: connection refused")
	})
	checker.Register("loop", func(context.Context) error { return nil }, health.WithLiveness())

	mux := http.NewServeMux()
	mux.Handle("/readyz", checker.ReadinessHandler())
	mux.Handle("/livez", checker.LivenessHandler())
	for _, path := range []string{"/readyz", "/livez"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))

		var body struct {
			Status string
			Checks map[string][]struct{ Status, Output string }
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"), body.Status)
		for name, c := range body.Checks {
			fmt.Printf("  %s: %s %q\n", name, c[0].Status, c[0].Output) // no error text by default
		}
	}
	// Unordered output:
	// /readyz 503 application/health+json fail
	//   db: fail ""
	//   loop: pass ""
	// /livez 200 application/health+json pass
	//   loop: pass ""
}

func ExampleChecker_RegisterBreaker() {
	payments, _ := breaker.New("payments-example", breaker.Config{FailureThreshold: 1})
	checker, _ := health.NewChecker("api", health.Config{})
	defer checker.Stop()
	checker.RegisterBreaker("payments", health.BreakerOpen(payments))

	fmt.Println(checker.CheckAll(context.Background()).Status)
	_ = payments.Execute(context.Background(), func(context.Context) error { return errors.New("502") })
	fmt.Println(checker.CheckAll(context.Background()).Status) // open: degraded, not unhealthy
	// Output:
	// healthy
	// degraded
}
