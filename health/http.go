package health

import (
	"encoding/json"
	"net/http"
	"time"
)

// ContentType is the media type of the handlers' responses, from the IETF
// draft "Health Check Response Format for HTTP APIs".
const ContentType = "application/health+json"

// A HandlerOption configures the HTTP handlers of a [Checker].
type HandlerOption interface {
	applyHandler(*handlerOptions)
}

type handlerOptions struct {
	details bool
}

type handlerOptionFunc func(*handlerOptions)

func (f handlerOptionFunc) applyHandler(o *handlerOptions) { f(o) }

// WithErrorDetails makes the handler include each failing check's error text
// as its "output". It is off by default: error texts carry host names,
// addresses and queries that a health endpoint, often reachable by more
// people than the logs are, should not reveal. Allow it only where the
// endpoint is internal.
func WithErrorDetails() HandlerOption {
	return handlerOptionFunc(func(o *handlerOptions) { o.details = true })
}

// Handler serves the checker's health as application/health+json, in the
// shape of the IETF health-check draft; it is the readiness endpoint, the
// same as [Checker.ReadinessHandler]:
//
//	{"status":"warn","serviceId":"api","checks":{
//	  "postgres":[{"status":"pass","time":"2025-01-02T15:04:05Z","observedValue":1.2,"observedUnit":"ms"}],
//	  "search":[{"status":"warn","time":"2025-01-02T15:04:05Z","observedValue":250,"observedUnit":"ms"}]}}
//
// The status is "pass" for [Healthy], "warn" for [Degraded] and "fail" for
// [Unhealthy] and for [Unknown] (a check not run yet is not known to be
// ready), both overall and per check; the response code is 200 for pass and
// warn and 503 for fail. Readiness fails closed: until every critical check
// has a result, the answer is 503, even when a degraded check would
// otherwise make it "warn". Each check's entry gives the time its last run ended
// and that run's latency in milliseconds; its "output", the error text, only
// with [WithErrorDetails].
//
// A checker started with [Checker.Start] serves its latest report without
// running anything; one that is not runs its checks for each request (see
// [Checker.CheckAll], and Config.CacheTTL to limit this), bounded by their
// timeouts and by the request's context. Only GET and HEAD are served.
func (c *Checker) Handler(opts ...HandlerOption) http.Handler {
	return c.handler(false, opts)
}

// ReadinessHandler is [Checker.Handler]: every check counts, and until every
// critical check has a result it answers 503, so that an orchestrator sends
// traffic only to processes whose dependencies have been seen working.
func (c *Checker) ReadinessHandler(opts ...HandlerOption) http.Handler {
	return c.handler(false, opts)
}

// LivenessHandler is [Checker.Handler] restricted to the checks registered
// with [WithLiveness]: it does not depend on downstream checks, so that an
// outage of a dependency never makes an orchestrator restart the process.
// With no liveness check it always passes. A liveness check not run yet
// counts as "warn" (200), not "fail": a process is not restarted for what
// nobody has checked. A checker that is not started runs only its liveness
// checks for each request.
func (c *Checker) LivenessHandler(opts ...HandlerOption) http.Handler {
	return c.handler(true, opts)
}

func (c *Checker) handler(liveness bool, opts []HandlerOption) http.Handler {
	var o handlerOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyHandler(&o)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		var rep Report
		if running {
			rep = c.report(liveness)
		} else {
			rep = c.checkAll(r.Context(), liveness)
		}
		body := encodeReport(rep, liveness, o.details)
		code := http.StatusOK
		if body.Status == "fail" {
			code = http.StatusServiceUnavailable
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		if r.Method == http.MethodHead {
			return
		}
		_ = json.NewEncoder(w).Encode(body) // a write error means the client left
	})
}

// healthJSON is the draft's root object.
type healthJSON struct {
	Status    string                 `json:"status"`
	ServiceID string                 `json:"serviceId,omitempty"`
	Checks    map[string][]checkJSON `json:"checks,omitempty"`
}

// checkJSON is one of the draft's check objects.
type checkJSON struct {
	Status        string   `json:"status"`
	Time          string   `json:"time,omitempty"`
	ObservedValue *float64 `json:"observedValue,omitempty"`
	ObservedUnit  string   `json:"observedUnit,omitempty"`
	Output        string   `json:"output,omitempty"`
}

func encodeReport(rep Report, liveness, details bool) healthJSON {
	body := healthJSON{
		Status:    draftStatus(rep.Status, liveness),
		ServiceID: rep.Checker,
		Checks:    make(map[string][]checkJSON, len(rep.Checks)),
	}
	for name, cr := range rep.Checks {
		cj := checkJSON{Status: draftStatus(cr.Status, liveness)}
		if !cr.LastRun.IsZero() {
			cj.Time = cr.LastRun.UTC().Format(time.RFC3339Nano)
			ms := float64(cr.Latency) / float64(time.Millisecond)
			cj.ObservedValue, cj.ObservedUnit = &ms, "ms"
		}
		if details && cj.Status != "pass" && cr.LastError != nil {
			cj.Output = cr.LastError.Error()
		}
		body.Checks[name] = []checkJSON{cj}
	}
	return body
}

// draftStatus maps a status to the draft's pass, warn and fail.
func draftStatus(s Status, liveness bool) string {
	switch s {
	case Healthy:
		return "pass"
	case Degraded:
		return "warn"
	case Unknown:
		if liveness {
			return "warn"
		}
	}
	return "fail"
}
