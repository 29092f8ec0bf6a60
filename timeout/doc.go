// Package timeout bounds the time a function may run.
//
// A [Timeout] is a [policy.Policy]: placed inside a retry it bounds each
// attempt, placed outside it bounds the whole execution, waits included.
//
//	t, err := timeout.New(2*time.Second)
//	p, err := policy.New("search", retryPolicy, t) // 2s per attempt
//
// The time limit reaches the function as its context's deadline: the
// function is expected to pass its context on, as net/http, database/sql and
// gRPC clients do. The errors a timeout produces match both [ErrTimeout] and
// [context.DeadlineExceeded] with errors.Is, so code written against either
// keeps working.
//
// A timeout is cooperative: it never abandons a running function in the
// background. A function that ignores its context runs to its end, and only
// then does the execution fail with the timeout. This costs the caller the
// overrun, and in exchange nothing outlives the call: no goroutine, no late
// result racing the next attempt. See [New].
package timeout
