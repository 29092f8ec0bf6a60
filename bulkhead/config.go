package bulkhead

import (
	"fmt"
	"math"
	"time"
)

// DefaultMaxConcurrent is the limit of a bulkhead whose Config leaves
// MaxConcurrent at zero.
const DefaultMaxConcurrent = 10

// maxCount bounds MaxConcurrent and MaxQueue: each is counted in 32 bits.
const maxCount = math.MaxInt32

// Config sizes a bulkhead. A zero Config admits [DefaultMaxConcurrent] calls
// at once, queues none and keeps its limit fixed.
type Config struct {
	// MaxConcurrent is how many calls may hold a permit at once. Zero means
	// DefaultMaxConcurrent; negative is an error. With Adaptive set, it is the
	// ceiling of the adaptive limit.
	MaxConcurrent int

	// MaxQueue is how many more calls may wait for a permit, served first in,
	// first out. Zero means no queue: a call that finds every permit taken is
	// refused at once with ErrFull. Negative is an error.
	MaxQueue int

	// MaxWait bounds each wait in the queue; a call that waited this long is
	// refused with ErrWaitTimeout. Zero means no bound but the caller's
	// context. Negative is an error, and so is a MaxWait with no queue
	// (MaxQueue zero), where no call ever waits.
	MaxWait time.Duration

	// Adaptive, when not nil, lets the limit follow the latency of the calls
	// the bulkhead admits, between Adaptive.MinLimit and MaxConcurrent. Nil,
	// the default, keeps the limit at MaxConcurrent.
	Adaptive *Adaptive
}

// Adaptive configures the adaptive limit: a gradient rule in the manner of
// Netflix's concurrency-limits (Gradient2). The bulkhead measures how long
// admitted calls hold their permit and, once per window, compares the
// window's average (the short-term latency) with a slowly moving average of
// past windows (the baseline):
//
//	gradient = clamp(Tolerance × baseline / short, 0.5, 1)
//	target   = limit × gradient + √limit
//	limit    = limit × (1 − Smoothing) + target × Smoothing, within [MinLimit, MaxConcurrent]
//
// While latency stays within Tolerance of the baseline the gradient is 1 and
// the limit grows by about Smoothing×√limit per window; when latency rises
// above it, queueing downstream is the likely cause and the limit shrinks,
// by at most half a Smoothing share per window. A rise that lasts becomes,
// after about BaselineWindows windows, the new baseline, and the limit grows
// back; when latency falls to well under the baseline, the baseline follows
// it quickly. A window in which fewer than half the permits were in use
// changes nothing: the limit was not what held the calls back.
//
// Every zero field takes the default it documents.
type Adaptive struct {
	// MinLimit is the floor of the limit. Zero means 1; it must not exceed
	// the ceiling, Config.MaxConcurrent.
	MinLimit int

	// InitialLimit is the limit the bulkhead starts with. Zero means the
	// ceiling, Config.MaxConcurrent, so that a new bulkhead admits what a
	// fixed one would until latency says otherwise.
	InitialLimit int

	// Window is how often the limit is re-estimated. Zero means one second.
	Window time.Duration

	// MinSamples is how many calls a window needs before it counts; a
	// window with fewer is extended. Zero means 10.
	MinSamples int

	// Tolerance is how far, as a ratio, the short-term latency may exceed the
	// baseline before the limit shrinks. Zero means 1.5; below 1 is an
	// error.
	Tolerance float64

	// Smoothing is the share of each window's estimate that moves the limit,
	// in (0, 1]. Zero means 0.2.
	Smoothing float64

	// BaselineWindows is the span, in windows, of the exponential moving
	// average that makes the baseline. Zero means 100.
	BaselineWindows int
}

// The defaults of Adaptive.
const (
	defaultWindow          = time.Second
	defaultMinSamples      = 10
	defaultTolerance       = 1.5
	defaultSmoothing       = 0.2
	defaultBaselineWindows = 100
)

// configError is an error matching ErrInvalidConfig: what is wrong, in the
// bulkhead named name.
type configError struct {
	name, what string
}

func (e *configError) Error() string {
	if e.name == "" {
		return "bulkhead: " + e.what
	}
	return fmt.Sprintf("bulkhead: %q: %s", e.name, e.what)
}

func (e *configError) Is(target error) bool { return target == ErrInvalidConfig }

// invalid returns the error of an invalid field, whose message starts with
// the field's name.
func invalid(format string, args ...any) error {
	return &configError{what: "Config." + fmt.Sprintf(format, args...)}
}

// normalize returns cfg with its defaults filled in, or an error naming the
// first field it cannot use.
func (cfg Config) normalize() (Config, error) {
	switch {
	case cfg.MaxConcurrent < 0 || cfg.MaxConcurrent > maxCount:
		return cfg, invalid("MaxConcurrent is %d, want 0 (default %d) to %d", cfg.MaxConcurrent, DefaultMaxConcurrent, maxCount)
	case cfg.MaxQueue < 0 || cfg.MaxQueue > maxCount:
		return cfg, invalid("MaxQueue is %d, want 0 (no queue) to %d", cfg.MaxQueue, maxCount)
	case cfg.MaxWait < 0:
		return cfg, invalid("MaxWait is %v, want 0 (no bound) or more", cfg.MaxWait)
	case cfg.MaxWait > 0 && cfg.MaxQueue == 0:
		return cfg, invalid("MaxWait is %v but MaxQueue is 0: no call can wait", cfg.MaxWait)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.Adaptive == nil {
		return cfg, nil
	}
	a := *cfg.Adaptive
	switch {
	case a.MinLimit < 0 || a.MinLimit > cfg.MaxConcurrent:
		return cfg, invalid("Adaptive.MinLimit is %d, want 0 (default 1) to MaxConcurrent (%d)", a.MinLimit, cfg.MaxConcurrent)
	case a.InitialLimit < 0 || a.InitialLimit > cfg.MaxConcurrent:
		return cfg, invalid("Adaptive.InitialLimit is %d, want 0 (MaxConcurrent) to MaxConcurrent (%d)", a.InitialLimit, cfg.MaxConcurrent)
	case a.InitialLimit > 0 && a.InitialLimit < a.MinLimit:
		return cfg, invalid("Adaptive.InitialLimit is %d, below Adaptive.MinLimit (%d)", a.InitialLimit, a.MinLimit)
	case a.Window < 0:
		return cfg, invalid("Adaptive.Window is %v, want 0 (default %v) or more", a.Window, defaultWindow)
	case a.MinSamples < 0:
		return cfg, invalid("Adaptive.MinSamples is %d, want 0 (default %d) or more", a.MinSamples, defaultMinSamples)
	case a.Tolerance != 0 && !(a.Tolerance >= 1 && a.Tolerance <= math.MaxFloat64):
		return cfg, invalid("Adaptive.Tolerance is %v, want 0 (default %v) or a finite ratio >= 1", a.Tolerance, defaultTolerance)
	case a.Smoothing != 0 && !(a.Smoothing > 0 && a.Smoothing <= 1):
		return cfg, invalid("Adaptive.Smoothing is %v, want 0 (default %v) or in (0, 1]", a.Smoothing, defaultSmoothing)
	case a.BaselineWindows < 0:
		return cfg, invalid("Adaptive.BaselineWindows is %d, want 0 (default %d) or more", a.BaselineWindows, defaultBaselineWindows)
	}
	if a.MinLimit == 0 {
		a.MinLimit = 1
	}
	if a.InitialLimit == 0 {
		a.InitialLimit = cfg.MaxConcurrent
	}
	if a.Window == 0 {
		a.Window = defaultWindow
	}
	if a.MinSamples == 0 {
		a.MinSamples = defaultMinSamples
	}
	if a.Tolerance == 0 {
		a.Tolerance = defaultTolerance
	}
	if a.Smoothing == 0 {
		a.Smoothing = defaultSmoothing
	}
	if a.BaselineWindows == 0 {
		a.BaselineWindows = defaultBaselineWindows
	}
	cfg.Adaptive = &a
	return cfg, nil
}
