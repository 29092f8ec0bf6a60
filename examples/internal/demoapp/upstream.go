package demoapp

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ErrUnavailable is what the upstream fails with: the error of a dependency
// that answered 503.
var ErrUnavailable error = &StatusError{Code: 503}

// StatusError is an upstream's answer that was not a success.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return "upstream: " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// ErrorType returns the status code, the error.type of an HTTP client call in
// OpenTelemetry's conventions.
func (e *StatusError) ErrorType() string { return strconv.Itoa(e.Code) }

// UpstreamConfig describes how an [Upstream] misbehaves. The zero value is an
// upstream that always answers at once.
type UpstreamConfig struct {
	FailureRate float64       // share of calls that fail with ErrUnavailable; zero: none
	SlowRate    float64       // share of calls that take SlowLatency; zero: none
	Latency     time.Duration // time a normal call takes; zero: none
	SlowLatency time.Duration // time a slow call takes; zero: none
	RandomSeed  uint64        // starts the random choices, so that a run can be replayed
}

// Upstream is a stand-in for a dependency that fails the way real
// ones do: now and then, slowly, or all at once during an outage. It is safe
// for concurrent use.
type Upstream struct {
	cfg UpstreamConfig

	mu       sync.Mutex
	rnd      *rand.Rand
	failNext int
	slowNext int
	down     bool
	calls    int
}

// NewUpstream returns an upstream that misbehaves as cfg says.
func NewUpstream(cfg UpstreamConfig) *Upstream {
	return &Upstream{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.RandomSeed, cfg.RandomSeed^0x5eed))}
}

// FailNext makes the next n calls fail, whatever the configuration says.
func (u *Upstream) FailNext(n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.failNext = n
}

// SlowNext makes the next n calls take SlowLatency, whatever the
// configuration's SlowRate says.
func (u *Upstream) SlowNext(n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.slowNext = n
}

// SetDown starts (true) or ends (false) an outage: while down, every call
// fails.
func (u *Upstream) SetDown(down bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.down = down
}

// Down reports whether an outage is under way.
func (u *Upstream) Down() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.down
}

// Calls returns the number of calls that reached the upstream.
func (u *Upstream) Calls() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls
}

// Call is one request to the upstream. It honours ctx: a call cut short by
// its context returns the context's error.
func (u *Upstream) Call(ctx context.Context) (string, error) {
	u.mu.Lock()
	u.calls++
	n := u.calls
	fail := u.down || u.failNext > 0 || u.rnd.Float64() < u.cfg.FailureRate
	if u.failNext > 0 {
		u.failNext--
	}
	wait := u.cfg.Latency
	if u.rnd.Float64() < u.cfg.SlowRate || u.slowNext > 0 {
		wait = u.cfg.SlowLatency
	}
	if u.slowNext > 0 {
		u.slowNext--
	}
	u.mu.Unlock()

	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", context.Cause(ctx)
		}
	}
	if fail {
		return "", ErrUnavailable
	}
	return "answer #" + strconv.Itoa(n), nil
}

// Is makes a StatusError match another of the same code, such as
// ErrUnavailable.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Code == e.Code
}

// ServeHTTP answers one call of the upstream over HTTP: 200 with the answer,
// or the failure's status, 503; a request whose client went away gets no
// answer.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer, err := u.Call(r.Context())
	if se, ok := errors.AsType[*StatusError](err); ok {
		http.Error(w, se.Error(), se.Code)
		return
	}
	if err != nil {
		return // cut short by the client: nobody reads an answer
	}
	_, _ = io.WriteString(w, answer)
}
