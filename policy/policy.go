package policy

import (
	"context"
	"reflect"
	"time"
)

// A Policy decides whether, when and how often the rest of a pipeline runs.
//
// Run is called once per execution that reaches the policy. It runs the rest of
// the pipeline with ex.Next, as many times as it sees fit (a retry), not at all
// (a breaker that is open), or with a derived context (a timeout), and returns
// the error that the execution should end with. It reports the decisions it
// takes with ex.Report, so that the pipeline can record them; a policy never
// touches OpenTelemetry itself.
//
// A policy that refuses to run the rest of the pipeline returns an error that
// matches [ErrRejected] with [errors.Is].
type Policy interface {
	Run(ctx context.Context, ex Execution) error
}

// Execution is a policy's handle on one execution of a [Pipeline]. It is a
// small value: passing or copying it allocates nothing. It is valid only until
// the Run call it was given to returns, and its methods must not be called
// from more than one goroutine at a time. A policy that runs attempts at the
// same time, as a hedging policy does, gives each its own handle with
// [Execution.Fork].
type Execution struct {
	s   *state
	idx int // index of the policy holding this handle
}

// Next runs the rest of the pipeline: the policies after this one, then the
// user's function as one attempt. A panic in the function is recovered, turned
// into a [*PanicError] that every policy sees as an ordinary error, and raised
// again once the outermost policy has returned.
func (ex Execution) Next(ctx context.Context) error {
	return ex.s.next(ctx, ex.idx+1)
}

// Report records a decision the policy has taken. The event becomes a span
// event on the execution span and increments the resilience.events counter; it
// costs nothing when telemetry is off.
func (ex Execution) Report(e Event) {
	ex.s.report(ex.idx, e)
}

// Name returns the name of the pipeline, for policies that pass it to their
// listeners as the operation name.
func (ex Execution) Name() string {
	return ex.s.p.name
}

// Attempts returns the number of attempts started so far in this execution,
// in all its branches, counting the numbers that [Execution.Fork] reserved.
func (ex Execution) Attempts() int {
	return int(ex.s.counter().Load())
}

// Fork returns the handle of a new branch of the execution, for a policy
// that runs the rest of the pipeline several times at once, as a hedging
// policy does. The branch's Next runs the policies after this one and the
// function, as ex.Next does, on any goroutine and concurrently with other
// branches, while ex and each branch stay used by one goroutine at a time.
//
// A branch has a result of its own (its Result and SetResult, which the
// policies inside it see) and a panic of its own. Its attempts are attempts
// of the execution: each is an attempt span, numbered in the execution's
// count, and the number of its first attempt is reserved now, so that
// branches are numbered in the order they were forked. The first branch
// forked from a branch that has not started an attempt yet takes over the
// number that branch reserved, so that nested forks lose no number. When
// hedged is true, or ex is a hedged branch, its attempt spans carry
// resilience.hedge=true.
//
// The policy must call [Execution.Join] for every branch it forked, once the
// branch's Next has returned and before its own Run returns. Forking
// allocates nothing beyond a pooled state, and, in an execution started by
// [Get], the branch's result.
func (ex Execution) Fork(hedged bool) Execution {
	s := ex.s
	top := s.top
	if top == nil {
		top = s
	}
	b := statePool.Get().(*state)
	b.p, b.tel, b.exec, b.top, b.hedged = s.p, s.tel, s.exec, top, hedged || s.hedged
	b.run = s.run.fork()
	if s.first != 0 { // ex is a branch whose reserved number is unused
		b.first, s.first = s.first, 0
	} else {
		b.first = top.attempts.Add(1)
	}
	return Execution{s: b, idx: ex.idx}
}

// Join ends branch b, forked from ex, after its Next has returned. When win
// is true, b's result becomes ex's, the value [Get] returns. A panic in b
// becomes ex's, raised again by Execute once the outermost policy has
// returned. A b that started no attempt (an inner policy refused it, or it
// was cancelled first) leaves its reserved number unused: the execution
// span's resilience.attempts does not count it, and later numbers keep
// theirs. b must not be used after Join. Join does nothing when b is not a
// branch.
func (ex Execution) Join(b Execution, win bool) {
	bs := b.s
	if bs == nil || bs.top == nil || bs == ex.s {
		return
	}
	s := ex.s
	if win {
		s.run.adopt(bs.run)
	}
	if bs.panicErr != nil && s.panicErr == nil {
		s.panicErr = bs.panicErr
	}
	if bs.first != 0 { // b made no attempt: its number counts none
		bs.top.unused.Add(1)
	}
	*bs = state{}
	statePool.Put(bs)
}

// Result returns the value of the last attempt when the execution was started
// by [Get], and nil otherwise. Policies that retry on results use it.
func (ex Execution) Result() any {
	if r, ok := ex.s.run.(resultRunner); ok {
		return r.result()
	}
	return nil
}

// SetResult replaces the value that [Get] returns, as a fallback does. It
// reports false, and changes nothing, when the execution was not started by
// Get or v is not of Get's type parameter. A nil v is the zero value of a
// type parameter that has a nil (an interface, a pointer, a slice, a map, a
// channel or a func): SetResult(nil) stores it, and reports true.
func (ex Execution) SetResult(v any) bool {
	if r, ok := ex.s.run.(resultRunner); ok {
		return r.setResult(v)
	}
	return false
}

// ResultType returns the type parameter T of the [Get] that started the
// execution, and nil when [Pipeline.Execute] did. A policy that tests results
// of one type uses it to refuse, before any attempt, an execution whose
// results are of another.
func (ex Execution) ResultType() reflect.Type {
	if r, ok := ex.s.run.(resultRunner); ok {
		return r.resultType()
	}
	return nil
}

// EventKind names a decision a policy reports. The set is closed: it is the
// vocabulary the telemetry of this module is made of.
type EventKind uint8

// The decisions policies report. Each kind's String is the span event name and
// the value of the event attribute of the resilience.events counter.
const (
	EventRetry                EventKind = iota + 1 // a retry is scheduled: Attempt, Delay
	EventRetryExhausted                            // retries are used up: Attempt (attempts made), Err
	EventRetryBudgetExhausted                      // a retry budget refused a retry: Attempt, Err
	EventBreakerRejected                           // a breaker refused the call: Reason, Delay (until the next trial)
	EventBreakerStateChange                        // a breaker changed state: From, To
	EventTimeout                                   // a time limit ran out: Delay (the limit)
	EventBulkheadRejected                          // a bulkhead refused the call: Reason
	EventBulkheadQueued                            // a call waited for a bulkhead permit: Delay (the wait)
	EventFallback                                  // a fallback replaced the result: Err (what it replaced)
	EventHedge                                     // a hedged attempt was started: Attempt, Delay, Reason ("delay" or "failure")
	EventSLOAlert                                  // an SLO alert changed state: From, To
	EventRateLimitRejected                         // a rate limiter refused the call: Reason, Delay (until a permit is free)
	EventRateLimitWaited                           // a call waited for a rate limiter's permit: Delay (the wait)
	EventRateLimitBackend                          // a shared rate limiter changed backend: From, To (such as "redis", "local")
	EventThrottleRejected                          // an adaptive throttle refused the call locally: Reason
	EventHedgeBudgetExhausted                      // a hedge budget refused a hedged attempt: Attempt (attempts so far)
	numEventKinds
)

var eventNames = [numEventKinds]string{
	EventRetry:                "retry",
	EventRetryExhausted:       "retry.exhausted",
	EventRetryBudgetExhausted: "retry.budget_exhausted",
	EventBreakerRejected:      "breaker.rejected",
	EventBreakerStateChange:   "breaker.state_change",
	EventTimeout:              "timeout",
	EventBulkheadRejected:     "bulkhead.rejected",
	EventBulkheadQueued:       "bulkhead.queued",
	EventFallback:             "fallback",
	EventHedge:                "hedge",
	EventSLOAlert:             "slo.alert_change",
	EventRateLimitRejected:    "ratelimit.rejected",
	EventRateLimitWaited:      "ratelimit.waited",
	EventRateLimitBackend:     "ratelimit.backend_change",
	EventThrottleRejected:     "throttle.rejected",
	EventHedgeBudgetExhausted: "hedge.budget_exhausted",
}

// String returns the event's name, such as "retry" or "breaker.rejected".
func (k EventKind) String() string {
	if k == 0 || k >= numEventKinds {
		return "unknown"
	}
	return eventNames[k]
}

// Event is a decision reported by a policy. Only the fields its [EventKind]
// documents are read; the others stay zero.
type Event struct {
	Kind    EventKind
	Attempt int           // the attempt the decision is about (1-based)
	Delay   time.Duration // a wait, a limit, or the time until a breaker admits a trial
	From    string        // the state before a change
	To      string        // the state after a change
	Reason  string        // a short, fixed word, such as "queue_full"
	Err     error         // the error that led to the decision
}
