package breaker

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config is a breaker's trip rule and recovery schedule. The zero Config is a breaker that opens after 5
// consecutive failures, stays open 60 seconds, then admits up to 3 trial calls
// at once and closes after 3 of them succeed.
type Config struct {
	// FailureThreshold is the number of consecutive failures that opens a
	// closed breaker. Zero means 5. Ignored when Window is set.
	FailureThreshold int

	// SuccessThreshold is the number of trial calls that must succeed, while
	// half-open, for the breaker to close. Zero means 3.
	SuccessThreshold int

	// Cooldown is how long the breaker stays open before it admits a trial
	// call. Zero means 60 seconds.
	Cooldown time.Duration

	// HalfOpenMaxRequests is the number of trial calls a half-open breaker
	// lets run at once; the others are rejected with an error matching
	// ErrHalfOpenFull. Zero means 3.
	HalfOpenMaxRequests int

	// Window, when set, replaces the consecutive-failures rule by a rule on
	// the rates of failed and slow calls in a sliding window. Nil means
	// consecutive mode.
	Window *Window

	// Classifier decides which errors count as failures. Nil means
	// DefaultClassifier: context.Canceled and rejections by inner policies
	// are ignored, every other error is a failure.
	Classifier Classifier

	// CooldownMultiplier grows the cooldown each time a trial fails and the
	// breaker opens again without having closed: the n-th trip in a row
	// waits Cooldown × CooldownMultiplier^(n-1), up to MaxCooldown. Zero
	// means 1: the cooldown does not grow. Values below 1 are invalid.
	CooldownMultiplier float64

	// MaxCooldown caps the grown cooldown. Zero means 10 × Cooldown. It must
	// not be below Cooldown. Ignored when the cooldown does not grow.
	MaxCooldown time.Duration
}

// Window is a sliding-window trip rule, after resilience4j: the breaker opens
// when, among the calls in the window, the rate of failures reaches
// FailureRateThreshold or the rate of slow calls reaches
// SlowCallRateThreshold, provided the window holds at least MinimumCalls
// calls. Ignored calls do not enter the window.
//
// Set exactly one of Size (count-based) and Duration (time-based).
type Window struct {
	// Size makes the window count-based: it holds the outcomes of the last
	// Size calls.
	Size int

	// Duration makes the window time-based: it holds the calls that ended in
	// the last Duration. The window slides in steps of Duration/Buckets: it
	// is the current step and the Buckets-1 before it, so a call leaves the
	// window between Duration-Duration/Buckets and Duration after it ended.
	// Each call reads the clock to find its step; [WithCoarseClock] makes
	// that reading an atomic load.
	Duration time.Duration

	// Buckets is the number of steps of a time-based window. Zero means 10.
	Buckets int

	// FailureRateThreshold is the rate of failures, in (0, 1], that opens
	// the breaker. Zero means 0.5.
	FailureRateThreshold float64

	// SlowCallDuration is the duration from which a call is slow. Zero means
	// calls are not timed and never slow. While half-open, a slow trial
	// counts as a failed one.
	SlowCallDuration time.Duration

	// SlowCallRateThreshold is the rate of slow calls, in (0, 1], that opens
	// the breaker. Zero means 1: all calls in the window are slow. Only
	// valid with a SlowCallDuration.
	SlowCallRateThreshold float64

	// MinimumCalls is the number of calls the window must hold before the
	// rates are applied. Zero means 100, or Size when Size is smaller. A
	// count-based window's MinimumCalls may not exceed its Size.
	MinimumCalls int
}

// ErrInvalidConfig is matched, through errors.Is, by the errors [New] and
// [Registry.Get] return for an empty name or an invalid [Config]. The error's
// message names the breaker and the field:
//
//	breaker: "payments": Config.Cooldown is -1s; it must not be negative
var ErrInvalidConfig = errors.New("breaker: invalid config")

// configError is an error matching ErrInvalidConfig: what is wrong, in the
// breaker named name.
type configError struct {
	name, what string
}

func (e *configError) Error() string {
	if e.name == "" {
		return "breaker: " + e.what
	}
	return fmt.Sprintf("breaker: %q: %s", e.name, e.what)
}

func (e *configError) Is(target error) bool { return target == ErrInvalidConfig }

const (
	defaultFailureThreshold = 5
	defaultSuccessThreshold = 3
	defaultCooldown         = 60 * time.Second
	defaultHalfOpenMax      = 3
	defaultBuckets          = 10
	defaultFailureRate      = 0.5
	defaultMinimumCalls     = 100
	defaultMaxCooldownMult  = 10

	// maxCount bounds the thresholds and sizes: the consecutive-failure
	// count shares a word with the state and the generation.
	maxCount = 1 << 28
)

// settings is a validated Config with its defaults filled in.
type settings struct {
	failureThreshold int
	successThreshold int
	cooldown         time.Duration
	maxCooldown      time.Duration
	multiplier       float64
	halfOpenMax      int
	classify         Classifier
	window           *windowSettings // nil: consecutive mode
}

type windowSettings struct {
	size     int   // count-based, or 0
	buckets  int   // time-based, or 0
	width    int64 // a bucket's span in nanoseconds
	failRate float64
	slowRate float64
	slow     time.Duration // 0: calls are not timed
	minCalls int
}

func invalid(field, format string, args ...any) error {
	return &configError{what: "Config." + field + " " + fmt.Sprintf(format, args...)}
}

func countField(field string, v, def int) (int, error) {
	switch {
	case v < 0:
		return 0, invalid(field, "is %d; it must not be negative", v)
	case v > maxCount:
		return 0, invalid(field, "is %d; it must not exceed %d", v, maxCount)
	case v == 0:
		return def, nil
	}
	return v, nil
}

func rateField(field string, v, def float64) (float64, error) {
	switch {
	case math.IsNaN(v) || v < 0 || v > 1:
		return 0, invalid(field, "is %v; it must be in (0, 1]", v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// settings validates c and fills in its defaults.
func (c Config) settings() (settings, error) {
	var s settings
	var err error
	if s.failureThreshold, err = countField("FailureThreshold", c.FailureThreshold, defaultFailureThreshold); err != nil {
		return s, err
	}
	if s.successThreshold, err = countField("SuccessThreshold", c.SuccessThreshold, defaultSuccessThreshold); err != nil {
		return s, err
	}
	if s.halfOpenMax, err = countField("HalfOpenMaxRequests", c.HalfOpenMaxRequests, defaultHalfOpenMax); err != nil {
		return s, err
	}
	switch {
	case c.Cooldown < 0:
		return s, invalid("Cooldown", "is %v; it must not be negative", c.Cooldown)
	case c.Cooldown == 0:
		s.cooldown = defaultCooldown
	default:
		s.cooldown = c.Cooldown
	}
	switch m := c.CooldownMultiplier; {
	case math.IsNaN(m) || math.IsInf(m, 0) || m < 0 || m > 0 && m < 1:
		return s, invalid("CooldownMultiplier", "is %v; it must be 0 (no growth) or at least 1", m)
	case m <= 1:
		s.multiplier = 1
	default:
		s.multiplier = m
	}
	switch {
	case c.MaxCooldown < 0:
		return s, invalid("MaxCooldown", "is %v; it must not be negative", c.MaxCooldown)
	case s.multiplier == 1:
		s.maxCooldown = s.cooldown
	case c.MaxCooldown == 0:
		s.maxCooldown = s.cooldown * defaultMaxCooldownMult
		if s.maxCooldown/defaultMaxCooldownMult != s.cooldown { // overflow
			s.maxCooldown = math.MaxInt64
		}
	case c.MaxCooldown < s.cooldown:
		return s, invalid("MaxCooldown", "is %v; it must not be below the Cooldown, %v", c.MaxCooldown, s.cooldown)
	default:
		s.maxCooldown = c.MaxCooldown
	}
	s.classify = c.Classifier
	if s.classify == nil {
		s.classify = DefaultClassifier
	}
	if c.Window != nil {
		if s.window, err = c.Window.settings(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (w *Window) settings() (*windowSettings, error) {
	ws := &windowSettings{}
	var err error
	switch {
	case w.Size < 0:
		return nil, invalid("Window.Size", "is %d; it must not be negative", w.Size)
	case w.Duration < 0:
		return nil, invalid("Window.Duration", "is %v; it must not be negative", w.Duration)
	case w.Size == 0 && w.Duration == 0:
		return nil, invalid("Window", "is empty; set its Size (count-based) or its Duration (time-based)")
	case w.Size > 0 && w.Duration > 0:
		return nil, invalid("Window", "sets both Size (%d) and Duration (%v); set one", w.Size, w.Duration)
	case w.Size > maxCount:
		return nil, invalid("Window.Size", "is %d; it must not exceed %d", w.Size, maxCount)
	}
	if w.Size > 0 {
		if w.Buckets != 0 {
			return nil, invalid("Window.Buckets", "is %d; it applies to time-based windows only", w.Buckets)
		}
		ws.size = w.Size
	} else {
		if ws.buckets, err = countField("Window.Buckets", w.Buckets, defaultBuckets); err != nil {
			return nil, err
		}
		ws.width = int64(w.Duration) / int64(ws.buckets)
		if ws.width == 0 {
			return nil, invalid("Window.Buckets", "is %d; it splits the Duration, %v, into empty steps", ws.buckets, w.Duration)
		}
	}
	if ws.failRate, err = rateField("Window.FailureRateThreshold", w.FailureRateThreshold, defaultFailureRate); err != nil {
		return nil, err
	}
	switch {
	case w.SlowCallDuration < 0:
		return nil, invalid("Window.SlowCallDuration", "is %v; it must not be negative", w.SlowCallDuration)
	case w.SlowCallDuration == 0 && w.SlowCallRateThreshold != 0:
		return nil, invalid("Window.SlowCallRateThreshold", "is set but SlowCallDuration is zero, so no call is ever slow")
	}
	ws.slow = w.SlowCallDuration
	if ws.slowRate, err = rateField("Window.SlowCallRateThreshold", w.SlowCallRateThreshold, 1); err != nil {
		return nil, err
	}
	def := defaultMinimumCalls
	if ws.size > 0 && ws.size < def {
		def = ws.size
	}
	if ws.minCalls, err = countField("Window.MinimumCalls", w.MinimumCalls, def); err != nil {
		return nil, err
	}
	if ws.size > 0 && ws.minCalls > ws.size {
		return nil, invalid("Window.MinimumCalls", "is %d; it exceeds the Size, %d, so the breaker could never open", ws.minCalls, ws.size)
	}
	return ws, nil
}

// cooldownFor returns the cooldown of the trips-th trip in a row (trips ≥ 1).
func (s *settings) cooldownFor(trips int) time.Duration {
	if s.multiplier == 1 || trips <= 1 {
		return s.cooldown
	}
	d := float64(s.cooldown)
	for i := 1; i < trips && d < float64(s.maxCooldown); i++ {
		d *= s.multiplier
	}
	if d >= float64(s.maxCooldown) {
		return s.maxCooldown
	}
	return time.Duration(d)
}
