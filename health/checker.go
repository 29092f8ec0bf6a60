package health

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Checker runs a set of named checks and keeps their health. Build it with
// [NewChecker], add checks with [Checker.Register], then either run them on
// demand with [Checker.CheckAll] or in the background with [Checker.Start],
// and serve them with [Checker.Handler]. A Checker is safe for concurrent use. [Checker.Stop]
// ends it for good.
type Checker struct {
	name   string
	cfg    Config
	jitter float64
	tel    *telemetry

	stop    chan struct{} // closed by Stop, to end the background loop
	tracker tracker       // every goroutine the checker starts

	mu        sync.Mutex
	checks    []*check // in registration order; append-only
	byName    map[string]*check
	overall   Status
	stopped   bool
	running   bool          // a background loop runs
	wake      chan struct{} // while running: tells the loop of a new check
	listeners []listener
	nextID    uint64
	pending   []StatusChange // changes not yet delivered to listeners
	draining  bool           // a goroutine is delivering pending
}

// check is one registered check and its state, guarded by Checker.mu.
type check struct {
	name       string
	fn         func(context.Context) error
	critical   bool
	liveness   bool
	timeout    time.Duration
	timeoutErr *timeoutError // the cause of its runs' timeouts
	threshold  int
	attrs      *checkAttrs

	status     Status
	failures   int // consecutive failed runs
	lastErr    error
	lastRun    time.Time // when the last run ended
	lastPassed time.Time
	latency    time.Duration
	run        *run // the latest run, while its function has not returned
}

// NewChecker returns a checker named name, configured by cfg (see [Config]
// for its defaults) and opts. The name labels the checker's spans, metrics and
// listener calls, so it should come from code. NewChecker fails, naming the
// field, when name is empty, a duration or threshold in cfg is negative, or
// an option is out of range.
//
// The checker registers its resilience.health.status gauge at once; Stop
// unregisters it.
func NewChecker(name string, cfg Config, opts ...Option) (*Checker, error) {
	if name == "" {
		return nil, invalid("NewChecker: name must not be empty")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := options{jitter: DefaultJitter}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.err != nil {
		return nil, invalid("%w", o.err)
	}
	c := &Checker{
		name:    name,
		cfg:     cfg,
		jitter:  o.jitter,
		byName:  make(map[string]*check),
		overall: Healthy, // no checks: nothing is wrong
	}
	c.stop = make(chan struct{})
	c.tel = newTelemetry(c, o.tp, o.mp)
	return c, nil
}

// Name returns the checker's name.
func (c *Checker) Name() string { return c.name }

// Config returns the checker's configuration, defaults filled in.
func (c *Checker) Config() Config { return c.cfg }

// Register adds a check named name that runs fn. fn reports the health of
// one thing (a database, a queue, a disk) by returning nil or an error; it receives a context that
// ends at the check's timeout and should return when it does. A check that
// panics fails with the panic as a [*policy.PanicError]; the panic goes no
// further.
//
// The check is [Unknown] until its first run, and by default critical, with
// the checker's timeout and failure threshold; see [WithCritical],
// [WithTimeout], [WithFailureThreshold] and [WithLiveness]. Register fails
// when name is empty or already registered ([ErrDuplicateCheck]), fn is nil,
// an option is out of range, or the checker is stopped.
//
// A check registered on a started checker runs at once, on a schedule of
// its own (see [Checker.Start]). Until its first run ends it is Unknown; a
// critical check that is Unknown makes the overall status Unknown, which
// fails the readiness endpoint.
func (c *Checker) Register(name string, fn func(context.Context) error, opts ...CheckOption) error {
	if name == "" {
		return invalid("Register: check name must not be empty")
	}
	if fn == nil {
		return invalid("Register: check %q has a nil function", name)
	}
	o := checkOptions{critical: true}
	for _, opt := range opts {
		if opt != nil {
			opt.applyCheck(&o)
		}
	}
	if o.err != nil {
		return invalid("Register: check %q: %w", name, o.err)
	}
	ch := &check{
		name:      name,
		fn:        fn,
		critical:  o.critical,
		liveness:  o.liveness,
		timeout:   o.timeout,
		threshold: o.threshold,
		attrs:     c.tel.checkAttrs(name),
	}
	if ch.timeout == 0 {
		ch.timeout = c.cfg.Timeout
	}
	ch.timeoutErr = &timeoutError{limit: ch.timeout}
	if ch.threshold == 0 {
		ch.threshold = c.cfg.FailureThreshold
	}

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	if _, dup := c.byName[name]; dup {
		c.mu.Unlock()
		return fmt.Errorf("%w: %q in checker %q", ErrDuplicateCheck, name, c.name)
	}
	c.byName[name] = ch
	c.checks = append(c.checks, ch)
	changed := c.updateOverallLocked()
	if c.running {
		select {
		case c.wake <- struct{}{}:
		default: // the loop has a wake-up pending already
		}
	}
	c.mu.Unlock()
	if changed {
		c.deliver()
	}
	return nil
}

// Report is a checker's health at one moment: the answer of
// [Checker.CheckAll] and [Checker.Report].
type Report struct {
	Checker string                 // the checker's name
	Status  Status                 // the overall status: see the package doc, "Statuses and thresholds"
	Time    time.Time              // when the report was made
	Checks  map[string]CheckResult // by check name
}

// CheckResult is one check's part of a [Report].
type CheckResult struct {
	Name                string
	Status              Status
	Critical            bool          // see WithCritical
	Liveness            bool          // see WithLiveness
	ConsecutiveFailures int           // failed runs since the last success
	LastError           error         // the error of the last failed run, nil once a run passes
	Latency             time.Duration // how long the last run took (its timeout, if it timed out)
	LastRun             time.Time     // when the last run ended; zero before the first
	LastPassed          time.Time     // when a run last passed; zero if none has
}

// Report returns the checker's latest report without running anything: what
// the last runs found, as a background loop ([Checker.Start]) keeps it fresh.
func (c *Checker) Report() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reportLocked(false)
}

// reportLocked builds a report of every check, or of liveness checks only.
func (c *Checker) reportLocked(livenessOnly bool) Report {
	r := Report{Checker: c.name, Time: now(), Checks: make(map[string]CheckResult, len(c.checks))}
	if !livenessOnly {
		r.Status = c.overall
	} else {
		r.Status = Healthy
	}
	for _, ch := range c.checks {
		if livenessOnly && !ch.liveness {
			continue
		}
		if livenessOnly {
			r.Status = worse(r.Status, ch.status)
		}
		r.Checks[ch.name] = CheckResult{
			Name:                ch.name,
			Status:              ch.status,
			Critical:            ch.critical,
			Liveness:            ch.liveness,
			ConsecutiveFailures: ch.failures,
			LastError:           ch.lastErr,
			Latency:             ch.latency,
			LastRun:             ch.lastRun,
			LastPassed:          ch.lastPassed,
		}
	}
	return r
}

// updateOverallLocked recomputes the overall status and queues a change for
// the listeners when it moved. It reports whether it did.
func (c *Checker) updateOverallLocked() bool {
	s := Healthy
	for _, ch := range c.checks {
		if ch.status == Unknown && !ch.critical {
			continue // it can at worst degrade the checker: nothing to wait for
		}
		s = worse(s, ch.status)
	}
	if s == c.overall {
		return false
	}
	c.pending = append(c.pending, StatusChange{Checker: c.name, From: c.overall, To: s})
	c.overall = s
	return true
}

// now is where the package reads the clock.
func now() time.Time { return time.Now() }

// observeStatuses feeds the status gauge: one point per check and status,
// and the overall status under check "".
func (c *Checker) observeStatuses(o metric.Observer, t *telemetry) {
	c.mu.Lock()
	overall := c.overall
	type point struct {
		attrs  *checkAttrs
		status Status
	}
	points := make([]point, len(c.checks))
	for i, ch := range c.checks {
		points[i] = point{ch.attrs, ch.status}
	}
	c.mu.Unlock()
	t.overall.observe(o, t.gauge, overall)
	for _, p := range points {
		p.attrs.observe(o, t.gauge, p.status)
	}
}
