package fallback

// An Option configures a [Fallback].
type Option interface {
	apply(*config)
}

type config struct {
	name string
	when func(error) bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithName names the policy in telemetry, and the pipeline of
// [Fallback.Execute]. The default is "fallback". An empty name is ignored.
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithPredicate sets which errors the fallback replaces: those for which
// when returns true. It is asked only about errors the fallback may replace
// at all: never about a panic, nor once the caller has cancelled. By default,
// and when when is nil, every such error is replaced. [Rejected] picks only
// refusals.
func WithPredicate(when func(err error) bool) Option {
	return optionFunc(func(c *config) { c.when = when })
}
