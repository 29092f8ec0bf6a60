package health

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// The defaults of a zero [Config].
const (
	DefaultCheckInterval    = 30 * time.Second
	DefaultFailureThreshold = 3
	DefaultJitter           = 0.1
	maxDefaultTimeout       = 10 * time.Second
)

// Config is what a [Checker] is built from, with its name. Its zero value is a
// checker that runs every 30 seconds, gives each run of a check 10 seconds,
// counts a check as failing after 3 consecutive failed runs, and caches
// nothing.
type Config struct {
	// CheckInterval is the time from the end of one background run of a
	// check to the start of its next (see [Checker.Start]), before jitter.
	// Zero means 30 seconds.
	CheckInterval time.Duration

	// FailureThreshold is the number of consecutive failed runs after which a
	// check stops counting as healthy, for checks registered without
	// [WithFailureThreshold]. Failures below it are reported (error,
	// consecutive failures) but leave the status Healthy, so that a single
	// slow or dropped probe does not flip a service's health. Zero means 3;
	// 1 makes every failure count at once.
	FailureThreshold int

	// Timeout bounds each run of a check, for checks registered without
	// [WithTimeout]: a run that has not returned by then fails with
	// [ErrTimeout]. Zero means half the CheckInterval, at most 10 seconds,
	// so that a run always ends before the next is due.
	Timeout time.Duration

	// CacheTTL is how long the result of a check's run is reused by
	// [Checker.CheckAll] (and so by the HTTP handlers of a checker not
	// started) instead of running the check again. It keeps frequent probes
	// from hammering the dependencies they check. Zero means no caching:
	// every CheckAll runs every check.
	CacheTTL time.Duration
}

// validate fills in c's defaults and fails on the first bad field.
func (c *Config) validate() error {
	switch {
	case c.CheckInterval < 0:
		return invalid("Config.CheckInterval must not be negative, got %v", c.CheckInterval)
	case c.FailureThreshold < 0:
		return invalid("Config.FailureThreshold must not be negative, got %d", c.FailureThreshold)
	case c.Timeout < 0:
		return invalid("Config.Timeout must not be negative, got %v", c.Timeout)
	case c.CacheTTL < 0:
		return invalid("Config.CacheTTL must not be negative, got %v", c.CacheTTL)
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.Timeout == 0 {
		c.Timeout = min(c.CheckInterval/2, maxDefaultTimeout)
		if c.Timeout <= 0 { // a 1ns interval
			c.Timeout = c.CheckInterval
		}
	}
	return nil
}

// An Option configures a [Checker].
type Option interface {
	apply(*options)
}

type options struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	jitter float64
	err    error // the first bad option
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTracerProvider sets the provider of the checker's tracer. By default,
// and when tp is nil, the checker uses the global provider of the otel
// package, whose delegation makes an SDK installed later take effect.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o *options) {
		if tp != nil {
			o.tp = tp
		}
	})
}

// WithMeterProvider sets the provider of the meter on which the checker
// registers its resilience.health.status gauge. By default, and when mp is
// nil, it is the global provider of the otel package.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	})
}

// WithJitter sets the fraction of the CheckInterval by which each wait of the
// background loop is shortened at random: each wait is drawn uniformly from
// [CheckInterval×(1−fraction), CheckInterval], so that checkers started
// together drift apart, and a check still runs at least once per interval.
// The default is 0.1; 0 turns jitter off. A fraction outside [0, 1) makes
// [NewChecker] fail.
func WithJitter(fraction float64) Option {
	return optionFunc(func(o *options) {
		if !(fraction >= 0 && fraction < 1) { // also catches NaN
			o.err = errors.Join(o.err, fmt.Errorf("WithJitter: fraction must be in [0, 1), got %v", fraction))
			return
		}
		o.jitter = fraction
	})
}

// A CheckOption configures one check, at [Checker.Register].
type CheckOption interface {
	applyCheck(*checkOptions)
}

type checkOptions struct {
	critical  bool
	liveness  bool
	timeout   time.Duration // 0: the checker's
	threshold int           // 0: the checker's
	err       error
}

type checkOptionFunc func(*checkOptions)

func (f checkOptionFunc) applyCheck(o *checkOptions) { f(o) }

// WithCritical sets whether the check is critical: a critical check that
// reaches its failure threshold makes it, and the checker, Unhealthy; a
// non-critical one only Degraded. Checks are critical by default, except
// those that read resilience state ([Checker.RegisterBreaker] and its
// siblings). Whatever this option says, a failure whose error matches
// [ErrDegraded] counts as Degraded.
func WithCritical(critical bool) CheckOption {
	return checkOptionFunc(func(o *checkOptions) { o.critical = critical })
}

// WithLiveness marks the check as part of liveness: the check answers "is
// this process able to work at all" (a deadlock detector, a full disk), not
// "are the things it depends on up". Only such checks count in
// [Checker.LivenessHandler]; every check counts in the readiness report.
// Checks are not liveness checks by default, so that an outage downstream
// never makes an orchestrator restart healthy processes.
func WithLiveness() CheckOption {
	return checkOptionFunc(func(o *checkOptions) { o.liveness = true })
}

// WithTimeout bounds each run of the check, instead of the checker's
// Config.Timeout. Zero means the checker's; a negative d makes
// [Checker.Register] fail.
func WithTimeout(d time.Duration) CheckOption {
	return checkOptionFunc(func(o *checkOptions) {
		if d < 0 {
			o.err = errors.Join(o.err, fmt.Errorf("WithTimeout must not be negative, got %v", d))
			return
		}
		o.timeout = d
	})
}

// WithFailureThreshold sets the consecutive failed runs after which the check
// stops counting as healthy, instead of the checker's
// Config.FailureThreshold. Zero means the checker's; a negative n makes
// [Checker.Register] fail.
func WithFailureThreshold(n int) CheckOption {
	return checkOptionFunc(func(o *checkOptions) {
		if n < 0 {
			o.err = errors.Join(o.err, fmt.Errorf("WithFailureThreshold must not be negative, got %d", n))
			return
		}
		o.threshold = n
	})
}
