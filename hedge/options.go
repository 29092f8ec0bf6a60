package hedge

import "time"

// An Option configures a [Hedge].
type Option interface {
	apply(*config)
}

type config struct {
	name      string
	fixed     bool // WithDelay: delay, not the adaptive one
	delay     time.Duration
	minDelay  time.Duration
	maxDelay  time.Duration
	quantile  float64
	maxHedges int
	parallel  bool
	budget    *Budget
	discard   func(v any)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// The defaults of a Hedge built with no option.
const (
	DefaultMaxHedges  = 1                // one hedged attempt at most
	DefaultPercentile = 0.95             // the adaptive delay's percentile
	DefaultMinDelay   = time.Millisecond // the adaptive delay's floor
	DefaultMaxDelay   = time.Second      // its ceiling, and the delay until it has samples
)

// WithName names the policy in telemetry, and the pipeline of
// [Hedge.Execute]. The default is "hedge". An empty name is ignored.
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithDelay sets a fixed delay: a hedged attempt starts when the attempts
// before it have run d without a result. It replaces the adaptive delay. New
// fails when d is not positive.
func WithDelay(d time.Duration) Option {
	return optionFunc(func(c *config) { c.fixed, c.delay = true, d })
}

// WithPercentile sets the percentile of the attempt latencies that the
// adaptive delay follows: 0.95 (the default) hedges the slowest 5% of
// attempts. New fails when q is not in (0, 1).
func WithPercentile(q float64) Option {
	return optionFunc(func(c *config) { c.quantile = q })
}

// WithDelayBounds makes the delay adaptive again after [WithDelay], and
// bounds it to [min, max]; max is also the
// delay until the policy has observed enough attempts (20) to estimate the
// percentile. The defaults are 1ms and 1s. New fails when min is negative or
// max is below min or not positive.
func WithDelayBounds(min, max time.Duration) Option {
	return optionFunc(func(c *config) { c.fixed, c.minDelay, c.maxDelay = false, min, max })
}

// WithMaxHedges sets how many hedged attempts an execution may start beyond
// its first one. The default is 1. New fails when n is less than 1.
func WithMaxHedges(n int) Option {
	return optionFunc(func(c *config) { c.maxHedges = n })
}

// WithParallel makes a failed attempt start the next hedged attempt at once,
// without waiting for the delay, while hedges remain: the first attempt to
// succeed still wins, and an execution whose attempts all fail ends with the
// last failure.
func WithParallel() Option {
	return optionFunc(func(c *config) { c.parallel = true })
}

// WithBudget makes the policy's hedged attempts draw on b, shared with the
// other hedges that call the same dependency. A nil b is ignored; without
// one, a Hedge has a budget of its own (see [DefaultBudgetPercent]).
func WithBudget(b *Budget) Option {
	return optionFunc(func(c *config) {
		if b != nil {
			c.budget = b
		}
	})
}

// WithDiscard sets what is done with the value of an attempt that did not
// win: each attempt that succeeds after the winner (or that a fallback inside
// the hedge gave a value) has its value, when it is a T, handed to fn once
// the execution has ended, so that a response body can be closed. When the
// execution ends in a panic, which returns no value, the winner's value is
// handed over too. fn runs on the caller's goroutine, before Execute or Get
// returns or the panic is raised; a panic in fn goes on up to the caller
// once every value has been handed over. Values of
// executions run by policy.Pipeline.Execute, which have none, are never
// handed over. A nil fn is ignored; a later call replaces an earlier one.
func WithDiscard[T any](fn func(T)) Option {
	return optionFunc(func(c *config) {
		if fn == nil {
			return
		}
		c.discard = func(v any) {
			if t, ok := v.(T); ok {
				fn(t)
			}
		}
	})
}
