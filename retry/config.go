package retry

import (
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
)

// Strategy is how the delay grows from one retry to the next, before jitter.
type Strategy uint8

// The strategies. The delay before retry n (n = 1 for the first retry, which
// is the second attempt) is:
const (
	// Exponential waits BaseDelay·2^(n−1): BaseDelay, 2×, 4×, 8×…, counted
	// from the first retry. The zero Strategy.
	Exponential Strategy = iota
	// Linear waits n·BaseDelay: BaseDelay, 2×, 3×…
	Linear
	// Constant waits BaseDelay before every retry.
	Constant
	numStrategies
)

var strategyNames = [numStrategies]string{"exponential", "linear", "constant"}

// String returns "exponential", "linear" or "constant".
func (s Strategy) String() string {
	if s >= numStrategies {
		return fmt.Sprintf("Strategy(%d)", uint8(s))
	}
	return strategyNames[s]
}

// Jitter is how a delay is randomized, so that clients that failed together
// do not all retry together. The names are those of the AWS Architecture
// Blog's "Exponential Backoff and Jitter", where d is the strategy's delay,
// already capped by MaxDelay:
type Jitter uint8

const (
	// FullJitter waits a uniformly random time in [0, d]: the article's
	// recommendation, which spreads retries the most. The zero Jitter.
	FullJitter Jitter = iota
	// NoJitter waits exactly d, for schedules that must be predictable.
	NoJitter
	// EqualJitter waits d/2 plus a uniformly random time in [0, d/2]: never
	// less than half the delay.
	EqualJitter
	// DecorrelatedJitter waits min(MaxDelay, random in [BaseDelay, 3·prev]),
	// where prev is the previous delay (BaseDelay before the first retry).
	// It grows on its own, so Strategy is not used.
	DecorrelatedJitter
	numJitters
)

var jitterNames = [numJitters]string{"full", "none", "equal", "decorrelated"}

// String returns "full", "none", "equal" or "decorrelated".
func (j Jitter) String() string {
	if j >= numJitters {
		return fmt.Sprintf("Jitter(%d)", uint8(j))
	}
	return jitterNames[j]
}

// NoRetries is the MaxRetries of a policy that makes one attempt and never
// retries, for configurations that turn retrying off without removing the
// policy.
const NoRetries = -1

// The defaults of a zero Config.
const (
	DefaultMaxRetries = 3
	DefaultBaseDelay  = 100 * time.Millisecond
	DefaultMaxDelay   = 10 * time.Second
)

// Config is how a retry policy retries: how often, how long it waits, which
// errors it retries. The zero Config is useful: up
// to 3 retries, exponential delays from 100ms capped at 10s with full jitter,
// retrying every error but the caller's own cancellation, panics and
// rejections by the policies inside the retry.
type Config struct {
	// MaxRetries is how many times a failed attempt is retried: an
	// execution makes at most MaxRetries+1 attempts. Zero means 3 (at most 4
	// attempts); NoRetries means one attempt and no retry.
	MaxRetries int

	// BaseDelay is the delay before the first retry, from which Strategy
	// grows the others. Zero means 100ms.
	BaseDelay time.Duration

	// MaxDelay caps every computed delay. A delay asked for by an error's
	// RetryAfter method (HTTP Retry-After, gRPC pushback) is waited in full
	// when it is at most MaxDelay; an error that asks for more ends the
	// retries with that error, since retrying it sooner than it asked would
	// only be refused again. Zero means 10s, or BaseDelay when that is
	// longer.
	MaxDelay time.Duration

	// Strategy is how delays grow. The zero value is Exponential.
	Strategy Strategy

	// Jitter is how delays are randomized. The zero value is FullJitter;
	// NoJitter gives the exact delays of Strategy.
	Jitter Jitter

	// RetryOn lists the errors worth retrying. An entry matches an error through
	// errors.Is, except a nil pointer of an error type, such as
	// (*net.OpError)(nil), which matches any error of that type in the
	// chain, through errors.As. Nil, with RetryIf nil too, means every error
	// is worth retrying.
	RetryOn []error

	// RetryIf decides which errors are worth retrying, for what a list cannot
	// say (a status code, a value type). An error is retried when it matches
	// RetryOn or RetryIf returns true. Nil means RetryOn alone decides.
	RetryIf func(err error) bool

	// RetryRejected lets the policy retry errors matching
	// policy.ErrRejected: the refusals of the policies inside it, such as an
	// open breaker or a full bulkhead. They are then classified like other
	// errors, by RetryOn and RetryIf, and a retry waits at least what the
	// error's RetryAfter method asks; a rejection that asks for more than
	// MaxDelay is not retried, since an earlier retry would be refused again.
	// The zero value, false, ends the execution with the rejection: an open
	// breaker is not hammered.
	RetryRejected bool
}

// validate returns an error naming the first field of c that is invalid. It
// only reads c: Do validates at every call, and builds the settings only when
// an attempt fails.
func (c *Config) validate() error {
	if c.MaxRetries < 0 && c.MaxRetries != NoRetries {
		return fmt.Errorf("retry: Config.MaxRetries is %d; want 0 or more, or NoRetries", c.MaxRetries)
	}
	base := c.BaseDelay
	switch {
	case base == 0:
		base = DefaultBaseDelay
	case base < 0:
		return fmt.Errorf("retry: Config.BaseDelay is %v; want a positive delay, or zero for %v", durfmt.Round(c.BaseDelay), DefaultBaseDelay)
	}
	switch {
	case c.MaxDelay < 0:
		return fmt.Errorf("retry: Config.MaxDelay is %v; want a positive delay, or zero for %v", durfmt.Round(c.MaxDelay), DefaultMaxDelay)
	case c.MaxDelay > 0 && c.MaxDelay < base:
		return fmt.Errorf("retry: Config.MaxDelay is %v, less than BaseDelay %v", durfmt.Round(c.MaxDelay), durfmt.Round(base))
	}
	if c.Strategy >= numStrategies {
		return fmt.Errorf("retry: Config.Strategy is %v; want Exponential, Linear or Constant", c.Strategy)
	}
	if c.Jitter >= numJitters {
		return fmt.Errorf("retry: Config.Jitter is %v; want FullJitter, NoJitter, EqualJitter or DecorrelatedJitter", c.Jitter)
	}
	for i, target := range c.RetryOn {
		if target == nil {
			return fmt.Errorf("retry: Config.RetryOn[%d] is nil", i)
		}
	}
	return nil
}

// settings returns the settings of c, a valid Config, with the defaults
// filled in.
func (c *Config) settings() *settings {
	s := &settings{
		maxRetries:    c.MaxRetries,
		base:          c.BaseDelay,
		max:           c.MaxDelay,
		strategy:      c.Strategy,
		jitter:        c.Jitter,
		retryOn:       c.RetryOn,
		retryIf:       c.RetryIf,
		retryRejected: c.RetryRejected,
	}
	switch s.maxRetries {
	case 0:
		s.maxRetries = DefaultMaxRetries
	case NoRetries:
		s.maxRetries = 0
	}
	if s.base == 0 {
		s.base = DefaultBaseDelay
	}
	if s.max == 0 {
		s.max = max(DefaultMaxDelay, s.base)
	}
	return s
}

// settings is a validated Config with its defaults filled in.
type settings struct {
	maxRetries    int // retries, not attempts; 0 for NoRetries
	base, max     time.Duration
	strategy      Strategy
	jitter        Jitter
	retryOn       []error
	retryIf       func(error) bool
	retryRejected bool
}
