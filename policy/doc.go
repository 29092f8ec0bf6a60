// Package policy is the core of resilience: it runs a function through a
// pipeline of fault-tolerance policies and makes every execution, attempt and
// decision visible in OpenTelemetry.
//
// A [Pipeline] is built once per dependency, outermost policy first, and run
// with [Pipeline.Execute] or, for a function with a result, [Get]:
//
//	p, err := policy.New("payments", retryPolicy, breakerPolicy, timeoutPolicy)
//	...
//	err = p.Execute(ctx, func(ctx context.Context) error {
//		return client.Charge(ctx, order)
//	})
//
// Each execution is one span, named "<pipeline> execute", and each run of the
// function one child span, "<pipeline> attempt", carrying its 1-based number
// ([Attempt] reads it from the function's context) and its [Outcome]. A failed
// attempt records its error with span.RecordError, status Error and the
// error.type attribute. Policies report their decisions (a retry scheduled, a
// breaker rejecting, a timeout) as [Event] values; the pipeline turns each
// into a span event on the execution span and into the resilience.events
// counter. Durations go to the resilience.execution.duration and
// resilience.attempt.duration histograms, in seconds.
//
// Telemetry goes to the global providers of the otel package unless
// [Pipeline.With] sets others. While no SDK is installed, or the providers are
// no-op ones, a pipeline records nothing and costs close to a direct call.
// Telemetry never fails a call: errors go to otel.Handle.
//
// Span attributes are set once, when the span ends, so a sampler sees a
// span's name (which carries the pipeline's) and kind, not its attributes.
// When the execution span is sampled out, its attempts start no span of their
// own, since the SDK's default sampler (ParentBased) would sample them out
// too: the function runs in the execution span's context, which carries the
// trace and the decision, and the duration histograms are recorded all the
// same.
//
// # Writing a policy
//
// A [Policy] has one method, Run, which receives an [Execution]: the handle by
// which it runs the rest of the pipeline (Execution.Next) and reports what it
// decided (Execution.Report). A retry calls Next more than once; a breaker
// that is open does not call it, and returns an error matching [ErrRejected].
// A policy that stops early because its next step would pass the context's
// deadline returns a [*DeadlineError], which lets the policy that set that
// deadline (a timeout) end the execution as its own.
//
// A policy that runs the rest of the pipeline several times at once, as a
// hedging policy does, gives each run a branch of its own with
// [Execution.Fork]: attempts that run concurrently, each an attempt span with
// its own result, joined back with [Execution.Join]. A sequential execution
// never pays for branches.
//
// A [Pipeline] is built with [New]; a nil *Pipeline runs nothing and returns
// [ErrNilPipeline].
//
// # Panics
//
// A panic in the function is recovered at the attempt, recorded on the
// attempt and execution spans, handed to every policy as a [*PanicError] so
// that each releases what it holds, and raised again by Execute with the
// original value once the outermost policy has returned.
package policy
