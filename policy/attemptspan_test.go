package policy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestSetAttemptAttributesAnnotatesEachAttemptsOwnSpan(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("api", retrying{}))
	ctx, caller := rec.tp.Tracer("caller").Start(context.Background(), "caller")
	err := p.Execute(ctx, func(ctx context.Context) error {
		require.True(t, policy.AttemptRecording(ctx))
		policy.SetAttemptAttributes(ctx, attribute.Int("http.response.status_code", 500+policy.Attempt(ctx)))
		if policy.Attempt(ctx) < 3 {
			return errUpstream
		}
		return nil
	})
	caller.End()
	require.NoError(t, err)

	attempts := rec.spansNamed("api attempt")
	require.Len(t, attempts, 3)
	for i, s := range attempts {
		assert.Contains(t, s.Attributes(), attribute.Int("http.response.status_code", 501+i))
	}
	for _, name := range []string{"api execute", "caller"} {
		for _, kv := range rec.span(t, name).Attributes() {
			assert.NotEqual(t, attribute.Key("http.response.status_code"), kv.Key, "set on %s", name)
		}
	}
}

func TestSetAttemptAttributesDoesNothingWithoutARecordedAttempt(t *testing.T) {
	rec := newRecorder()
	ctx, caller := rec.tp.Tracer("caller").Start(context.Background(), "caller")
	// Outside any pipeline, and in a pipeline that records no spans, the
	// caller's span must stay untouched.
	assert.False(t, policy.AttemptRecording(ctx))
	policy.SetAttemptAttributes(ctx, attribute.String("k", "outside"))

	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	quiet := policy.MustNew("quiet", retrying{}).With(policy.WithTracerProvider(unsampled), policy.WithMeterProvider(rec.mp))
	require.NoError(t, quiet.Execute(ctx, func(ctx context.Context) error {
		assert.False(t, policy.AttemptRecording(ctx))
		policy.SetAttemptAttributes(ctx, attribute.String("k", "unsampled"))
		return nil
	}))
	caller.End()
	assert.Empty(t, rec.span(t, "caller").Attributes())
	assert.True(t, trace.SpanFromContext(ctx).SpanContext().IsValid())
}

func TestSetAttemptAttributesCostsNothingWhenTracingIsOff(t *testing.T) {
	p := policy.MustNew("off", once{})
	allocs := testing.AllocsPerRun(100, func() {
		_ = p.Execute(context.Background(), func(ctx context.Context) error {
			if policy.AttemptRecording(ctx) {
				policy.SetAttemptAttributes(ctx, attribute.Int("n", 1))
			}
			return errors.ErrUnsupported
		})
	})
	assert.Zero(t, allocs)
}

// once runs the rest of the pipeline once.
type once struct{}

func (once) Run(ctx context.Context, ex policy.Execution) error { return ex.Next(ctx) }
