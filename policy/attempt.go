package policy

import "context"

type attemptKey struct{}

// Attempt returns the 1-based number of the attempt that ctx belongs to: 1 for
// the first run of the user's function, 2 for the first retry, and so on. It
// returns 1 for a context that no pipeline made.
func Attempt(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// attemptContext returns ctx marked with attempt n. The first attempt of an
// execution needs no context value, unless an outer pipeline has already put
// one there.
func attemptContext(ctx context.Context, n int) context.Context {
	if n == 1 && ctx.Value(attemptKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, n)
}
