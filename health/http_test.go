package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aragora/resilience/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get serves one request and decodes the draft's JSON.
func get(t *testing.T, h http.Handler, method string) (int, http.Header, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/health", nil))
	body := rec.Body.String()
	var doc map[string]any
	if method == http.MethodGet && rec.Code != http.StatusMethodNotAllowed {
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	}
	return rec.Code, rec.Header(), doc, body
}

// checkEntry returns the single object of a check in the draft's checks map.
func checkEntry(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	checks, _ := doc["checks"].(map[string]any)
	list, _ := checks[name].([]any)
	if len(list) != 1 {
		t.Fatalf("checks[%q] = %v, want one object", name, checks[name])
	}
	return list[0].(map[string]any)
}

func TestHandlerStatusCodesAndBody(t *testing.T) {
	tests := []struct {
		name     string
		critical bool
		err      error
		code     int
		status   string
	}{
		{"healthy: pass", true, nil, 200, "pass"},
		{"degraded: warn", false, errBoom, 200, "warn"},
		{"unhealthy: fail", true, errBoom, 503, "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, health.Config{FailureThreshold: 1})
			mustRegister(t, c, "db", func(context.Context) error { return tt.err }, health.WithCritical(tt.critical))
			mustRegister(t, c, "cache", pass)

			code, header, doc, _ := get(t, c.Handler(), http.MethodGet)
			if code != tt.code || doc["status"] != tt.status {
				t.Errorf("%d %v, want %d %q", code, doc["status"], tt.code, tt.status)
			}
			if ct := header.Get("Content-Type"); ct != "application/health+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if doc["serviceId"] != "api" {
				t.Errorf("serviceId %v", doc["serviceId"])
			}
			db := checkEntry(t, doc, "db")
			if db["status"] != tt.status {
				t.Errorf("db status %v, want %q", db["status"], tt.status)
			}
			if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(db["time"])); err != nil {
				t.Errorf("db time %v: %v", db["time"], err)
			}
			if _, ok := db["observedValue"].(float64); !ok || db["observedUnit"] != "ms" {
				t.Errorf("db observed %v %v, want a latency in ms", db["observedValue"], db["observedUnit"])
			}
			if checkEntry(t, doc, "cache")["status"] != "pass" {
				t.Errorf("cache %v", checkEntry(t, doc, "cache"))
			}
		})
	}
}

func TestHandlerKeepsErrorTextOutByDefault(t *testing.T) {
	secret := fmt.Errorf("dial tcp 10.1.2.3:5432: password authentication failed for user %q", "billing")
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "db", func(context.Context) error { return secret })

	_, _, doc, body := get(t, c.Handler(), http.MethodGet)
	if strings.Contains(body, "10.1.2.3") || strings.Contains(body, "billing") || strings.Contains(body, "output") {
		t.Errorf("the body leaks the error: %s", body)
	}
	if checkEntry(t, doc, "db")["status"] != "fail" {
		t.Errorf("db %v", checkEntry(t, doc, "db"))
	}

	_, _, doc, _ = get(t, c.Handler(health.WithErrorDetails()), http.MethodGet)
	if out := checkEntry(t, doc, "db")["output"]; out != secret.Error() {
		t.Errorf("with WithErrorDetails: output %v, want %q", out, secret)
	}
}

func TestErrorDetailsOnlyForFailingChecks(t *testing.T) {
	c := newChecker(t, health.Config{}) // threshold 3: one failure still passes
	mustRegister(t, c, "db", func(context.Context) error { return errBoom })
	_, _, doc, _ := get(t, c.Handler(health.WithErrorDetails()), http.MethodGet)
	db := checkEntry(t, doc, "db")
	if _, ok := db["output"]; ok || db["status"] != "pass" {
		t.Errorf("a passing check: %v, want no output", db)
	}
}

func TestLivenessDoesNotDependOnDownstreamChecks(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	downstream := newScript(errBoom)
	mustRegister(t, c, "db", downstream.check)
	mustRegister(t, c, "deadlock", pass, health.WithLiveness())

	code, _, doc, _ := get(t, c.LivenessHandler(), http.MethodGet)
	if code != 200 || doc["status"] != "pass" {
		t.Errorf("liveness: %d %v, want 200 pass", code, doc["status"])
	}
	if checks := doc["checks"].(map[string]any); len(checks) != 1 || checks["deadlock"] == nil {
		t.Errorf("liveness checks %v, want only deadlock", checks)
	}
	if downstream.Calls() != 0 {
		t.Errorf("liveness ran the downstream check %d times", downstream.Calls())
	}

	for _, h := range []http.Handler{c.ReadinessHandler(), c.Handler()} {
		code, _, doc, _ = get(t, h, http.MethodGet)
		if code != 503 || doc["status"] != "fail" || len(doc["checks"].(map[string]any)) != 2 {
			t.Errorf("readiness: %d %v %v, want 503 fail with both checks", code, doc["status"], doc["checks"])
		}
	}
}

func TestLivenessWithNoLivenessChecksPasses(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "db", func(context.Context) error { return errBoom })
	code, _, doc, _ := get(t, c.LivenessHandler(), http.MethodGet)
	if code != 200 || doc["status"] != "pass" {
		t.Errorf("%d %v, want 200 pass", code, doc["status"])
	}
}

func TestChecksNotRunYet(t *testing.T) {
	c := newChecker(t, health.Config{})
	mustRegister(t, c, "db", pass)
	mustRegister(t, c, "loop", pass, health.WithLiveness())
	c.Stop() // nothing will run: the handlers serve the report as it is

	code, _, doc, _ := get(t, c.Handler(), http.MethodGet)
	if code != 503 || doc["status"] != "fail" || checkEntry(t, doc, "db")["status"] != "fail" {
		t.Errorf("readiness before any run: %d %v, want 503 fail", code, doc["status"])
	}
	if _, ok := checkEntry(t, doc, "db")["time"]; ok {
		t.Errorf("a check never run has a time: %v", checkEntry(t, doc, "db"))
	}
	code, _, doc, _ = get(t, c.LivenessHandler(), http.MethodGet)
	if code != 200 || doc["status"] != "warn" {
		t.Errorf("liveness before any run: %d %v, want 200 warn", code, doc["status"])
	}
}

func TestAStartedCheckerServesWithoutRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CheckInterval: time.Minute})
		s := newScript()
		mustRegister(t, c, "db", s.check)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the first round
		for range 5 {
			if code, _, _, _ := get(t, c.Handler(), http.MethodGet); code != 200 {
				t.Fatalf("code %d", code)
			}
		}
		if s.Calls() != 1 {
			t.Errorf("%d runs, want the loop's 1", s.Calls())
		}
	})
}

func TestHandlerMethods(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "db", func(context.Context) error { return errBoom })
	code, _, _, body := get(t, c.Handler(), http.MethodHead)
	if code != 503 || body != "" {
		t.Errorf("HEAD: %d %q, want 503 and no body", code, body)
	}
	code, header, _, _ := get(t, c.Handler(), http.MethodPost)
	if code != http.StatusMethodNotAllowed || header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", code, header.Get("Allow"))
	}
}

func TestHandlerBoundedByTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{Timeout: time.Minute})
		mustRegister(t, c, "slow", func(ctx context.Context) error {
			select {
			case <-time.After(10 * time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		start := time.Now()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil).WithContext(ctx))
		if d := time.Since(start); d != time.Second || rec.Code != 503 {
			t.Errorf("answered %d after %v, want 503 (not known yet) at the request's 1s", rec.Code, d)
		}
	})
}

// Readiness fails closed: a critical check that has not finished its first
// run keeps the endpoint at 503, whatever the other checks say, even a
// degraded non-critical one that would otherwise make the answer "warn".
func TestReadinessFailsWhileACriticalCheckHasNotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker(t, health.Config{CheckInterval: time.Minute, Timeout: 10 * time.Second})
		release := make(chan struct{})
		mustRegister(t, c, "postgres", func(ctx context.Context) error { // critical, slow first run
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		require.NoError(t, c.RegisterBreaker("payments", func() bool { return true })) // Degraded at once
		require.NoError(t, c.Start(context.Background()))
		synctest.Wait() // payments has run, postgres has not finished its first run

		rep := c.Report()
		require.Equal(t, health.Unknown, rep.Checks["postgres"].Status)
		require.Equal(t, health.Degraded, rep.Checks["payments"].Status)
		assert.Equal(t, health.Unknown, rep.Status, "overall status")
		code, _, doc, body := get(t, c.ReadinessHandler(), http.MethodGet)
		assert.Equal(t, http.StatusServiceUnavailable, code, "readiness while critical postgres has never run: %s", body)
		assert.Equal(t, "fail", doc["status"])

		close(release) // postgres passes: the breaker alone makes it warn
		synctest.Wait()
		code, _, doc, body = get(t, c.ReadinessHandler(), http.MethodGet)
		assert.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, "warn", doc["status"])
	})
}

// A non-critical check not run yet does not fail readiness next to a
// critical check that passes: only critical checks must have a result.
func TestReadinessWaitsOnlyForCriticalChecks(t *testing.T) {
	c := newChecker(t, health.Config{})
	mustRegister(t, c, "db", pass)
	c.CheckAll(context.Background())
	mustRegister(t, c, "search", pass, health.WithCritical(false)) // never run
	c.Stop()                                                       // the handler serves the report as it is

	code, _, doc, body := get(t, c.ReadinessHandler(), http.MethodGet)
	assert.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "fail", checkEntry(t, doc, "search")["status"], "the check itself is not known to pass")
}

// The handler serves HEAD without a body, refuses other methods with 405 and
// Allow, escapes check names as JSON, and keeps error texts out of the body.
func TestHandlerEscapesNamesAndHidesErrors(t *testing.T) {
	c := newChecker(t, health.Config{FailureThreshold: 1})
	mustRegister(t, c, "\"</script><x>\u2028", func(context.Context) error { return errors.New("dial 10.0.0.7:5432: secret") })
	for _, tc := range []struct {
		method string
		code   int
	}{{http.MethodHead, 503}, {http.MethodPost, 405}, {http.MethodGet, 503}} {
		t.Run(tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, "/", nil))
			body := rec.Body.String()
			assert.Equal(t, tc.code, rec.Code)
			switch tc.method {
			case http.MethodHead:
				assert.Empty(t, body)
			case http.MethodGet:
				assert.Equal(t, health.ContentType, rec.Header().Get("Content-Type"))
				assert.NotContains(t, body, "</script>")
				assert.NotContains(t, body, "\u2028")
				assert.NotContains(t, body, "10.0.0.7")
			}
		})
	}
}
