package throttle

// An Option configures a [Throttle].
type Option interface {
	apply(*options)
}

type options struct {
	rejected func(error) bool
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithRejected sets which errors say that the backend refused a call: those
// for which rejected returns true, such as an HTTP 429 or 503, or gRPC's
// RESOURCE_EXHAUSTED. Calls that fail with other errors count as accepted:
// the backend had the capacity to answer. By default, and when rejected is
// nil, every error counts as a refusal. It is never asked about a call the
// caller cancelled, a refusal by an inner policy, or a panic; a panic in it
// reaches the caller of Execute, and the call is not counted.
func WithRejected(rejected func(err error) bool) Option {
	return optionFunc(func(o *options) {
		if rejected != nil {
			o.rejected = rejected
		}
	})
}
