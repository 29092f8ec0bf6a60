package retry

import (
	"fmt"
	"reflect"
	"time"
)

// An Option configures a [Retry], or a call of [Do] or [Get], beyond its
// [Config]: its name, its listeners, its result predicate and its budget.
type Option interface {
	apply(*options)
}

type options struct {
	name        string
	onRetry     []func(operation string, attempt int, delay time.Duration)
	onExhausted []func(operation string, attempts int)
	result      *resultCheck
	budget      Budget
}

// noOptions are the options of a policy made with none; never modified.
var noOptions = options{name: "retry"}

// applyOptions applies opts. Only calls with options pay for them: Do with none
// allocates nothing.
func applyOptions(opts []Option) *options {
	o := &noOptions
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if o == &noOptions {
			o = &options{name: noOptions.name}
		}
		opt.apply(o)
	}
	return o
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithName names the policy in telemetry (the policy attribute of its events)
// and, for [Do] and [Get], the operation passed to listeners. The default is
// "retry". An empty name is ignored.
func WithName(name string) Option {
	return optionFunc(func(o *options) {
		if name != "" {
			o.name = name
		}
	})
}

// WithOnRetry adds a listener called before each wait for a retry, with the
// pipeline's name as the operation, the number of the attempt about to run (2
// for the first retry) and the delay, for metrics or logs of their own.
// Listeners run on the caller's goroutine and must
// not block. A nil fn is ignored.
func WithOnRetry(fn func(operation string, attempt int, delay time.Duration)) Option {
	return optionFunc(func(o *options) {
		if fn != nil {
			o.onRetry = append(o.onRetry, fn)
		}
	})
}

// WithOnExhausted adds a listener called when an execution gives up because
// its last allowed attempt failed, with the pipeline's name and the attempts
// made. It is not
// called for errors that are not worth retrying, nor when a [Budget] refuses
// a retry. A nil fn is ignored.
func WithOnExhausted(fn func(operation string, attempts int)) Option {
	return optionFunc(func(o *options) {
		if fn != nil {
			o.onExhausted = append(o.onExhausted, fn)
		}
	})
}

// WithRetryIfResult makes a successful attempt whose value satisfies pred
// count as a failure worth retrying: an HTTP response with status 503, an
// empty page that should not be. It applies to executions run by
// policy.Get[T] and [Get][T] with the same T; both fail at once, without a
// call, when their type parameter is another, and so does [Do]. Only
// policy.Pipeline.Execute, which has no value, never consults it. The nil
// of an interface T is a result like another: pred sees it. When the retries run out on such a result, the execution ends
// with an [*ExhaustedError] whose Err is nil, and Get returns the last value
// alongside it. A nil pred is ignored; a later call replaces an earlier one.
//
// Through a pipeline the value reaches pred boxed in an interface, which
// allocates for values larger than a pointer; [Get] passes it as it is.
func WithRetryIfResult[T any](pred func(T) bool) Option {
	return optionFunc(func(o *options) {
		if pred == nil {
			return
		}
		o.result = &resultCheck{
			typed: pred,
			boxed: func(v any) bool {
				if v == nil {
					// The nil of an interface T, which boxing loses: Run has
					// made sure that the execution's results are T's.
					var zero T
					return pred(zero)
				}
				t, ok := v.(T)
				return ok && pred(t)
			},
			typ: reflect.TypeFor[T](),
		}
	})
}

// resultCheck is a result predicate in the two forms the two paths need.
type resultCheck struct {
	typed any              // func(T) bool, for Get
	boxed func(v any) bool // for policies in a pipeline, through Execution.Result
	typ   reflect.Type     // T, for error messages
}

// misfit is the error of an execution whose results are of type typ, which
// the predicate cannot test.
func (rc *resultCheck) misfit(typ reflect.Type) error {
	return fmt.Errorf("retry: WithRetryIfResult[%v] cannot test the %v results of this execution", rc.typ, typ)
}

// WithBudget makes the policy's retries draw on b, a budget shared with the
// other policies that call the same dependency, so that together they cannot
// multiply its traffic when it fails: see [TokenBucket] and
// [ConcurrencyBudget]. When b refuses a retry, the execution ends with the
// last attempt's error, and a retry.budget_exhausted event says why. A nil b
// is ignored.
func WithBudget(b Budget) Option {
	return optionFunc(func(o *options) {
		if b != nil && !(reflect.ValueOf(b).Kind() == reflect.Pointer && reflect.ValueOf(b).IsNil()) {
			o.budget = b
		}
	})
}
