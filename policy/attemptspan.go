package policy

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// attemptSpanKey marks the context of an attempt whose span is recording.
type attemptSpanKey struct{}

// withAttemptSpan returns ctx marked with span, the attempt's own span, for
// [SetAttemptAttributes]. It is called only for spans that record, so that
// an execution without tracing pays nothing for it.
func withAttemptSpan(ctx context.Context, span trace.Span) context.Context {
	return context.WithValue(ctx, attemptSpanKey{}, span)
}

// AttemptRecording reports whether ctx belongs to an attempt whose span is
// being recorded: whether [SetAttemptAttributes] would record anything.
// Functions check it before they build attributes, so that they build none
// when tracing is off or the execution is not sampled.
func AttemptRecording(ctx context.Context) bool {
	_, ok := ctx.Value(attemptSpanKey{}).(trace.Span)
	return ok
}

// SetAttemptAttributes adds attrs to the span of the attempt that ctx
// belongs to (the innermost recorded one when pipelines nest), for what only
// the function knows: the HTTP method and status code of the request it made,
// the gRPC method it called. It does nothing when that span is not recorded,
// and never touches the span of the caller. Attribute values must come from
// a bounded set (no URL paths, no ids), as every attribute of this module's
// spans does.
func SetAttemptAttributes(ctx context.Context, attrs ...attribute.KeyValue) {
	if span, ok := ctx.Value(attemptSpanKey{}).(trace.Span); ok {
		span.SetAttributes(attrs...)
	}
}
