package resiliencehttp

import (
	"fmt"
	"net/http"
	"time"

	"github.com/aragora/resilience/slo"
)

// An Option configures a [Transport] (made by [NewTransport] or [NewClient])
// or a [Handler]. Each option says which of the two it applies to; the other
// ignores it.
type Option interface {
	apply(*config)
}

type config struct {
	classify      Classifier
	idempotent    func(*http.Request) bool
	attemptHeader string
	monitor       *slo.Monitor
	retryAfter    time.Duration
	err           error // the first invalid option
}

// DefaultRetryAfter is the Retry-After a [Handler] sends with a rejection
// whose error does not say when to come back, such as a full bulkhead's.
const DefaultRetryAfter = time.Second

func newConfig(opts []Option) (config, error) {
	c := config{classify: DefaultClassifier, idempotent: idempotent, retryAfter: DefaultRetryAfter}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c, c.err
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithClassifier replaces [DefaultClassifier], which decides which responses
// and transport errors are retried and which count as failures. Transport
// only. A nil c is ignored.
func WithClassifier(c Classifier) Option {
	return optionFunc(func(cfg *config) {
		if c != nil {
			cfg.classify = c
		}
	})
}

// WithIdempotent replaces the rule that says which requests may be sent
// more than once: by default, those whose method is GET, HEAD, OPTIONS,
// TRACE, PUT or DELETE, and those that carry an Idempotency-Key header. A
// request for which fn returns false is still retried when it provably never
// reached the server (its connection could not be made). fn must not modify
// the request. Transport only. A nil fn is ignored.
func WithIdempotent(fn func(*http.Request) bool) Option {
	return optionFunc(func(cfg *config) {
		if fn != nil {
			cfg.idempotent = fn
		}
	})
}

// WithAttemptHeader makes every attempt carry its number, from 1, in the
// request header name (such as "X-Retry-Attempt"), so that a server can see
// that a request is a retry. Transport only. By default no header is sent;
// a name that is not a valid header field name is an error of the
// constructor.
func WithAttemptHeader(name string) Option {
	return optionFunc(func(cfg *config) {
		if !validHeaderName(name) {
			cfg.fail("WithAttemptHeader(%q): not a valid header field name", name)
			return
		}
		cfg.attemptHeader = http.CanonicalHeaderKey(name)
	})
}

// WithMonitor records the outcome of every request in m, an SLO monitor:
// responses with a 5xx status, rejections, timeouts and panics are bad calls,
// other responses (4xx included: the client was at fault) are good, and the
// latency runs from the moment the handler was entered, so that time spent
// queued in a bulkhead counts. A request whose client went away before it was
// answered is not recorded. Handler only. A nil m is ignored.
func WithMonitor(m *slo.Monitor) Option {
	return optionFunc(func(cfg *config) {
		if m != nil {
			cfg.monitor = m
		}
	})
}

// WithRetryAfter sets the Retry-After a [Handler] sends with a rejection
// whose error has no RetryAfter() time.Duration method (or returns a wait
// that is not positive), such as a full bulkhead's: [DefaultRetryAfter]
// unless set. Handler only. A d that is not positive is an error of the
// constructor.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(cfg *config) {
		if d <= 0 {
			cfg.fail("WithRetryAfter(%v): want a positive duration", d)
			return
		}
		cfg.retryAfter = d
	})
}

// validHeaderName reports whether name is a token, as RFC 9110 requires of a
// field name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && isTokenSymbol(c):
		default:
			return false
		}
	}
	return true
}

func isTokenSymbol(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
