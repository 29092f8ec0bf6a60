package otelhooks_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aragora/resilience/otelhooks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// WithSpanWriter writes one line per span, whatever its name, keys, values,
// events and status hold: a newline (multi-line SQL, a stack) or a terminal
// escape is quoted, never written raw.
func TestSpanWriterWritesOneLinePerSpan(t *testing.T) {
	tests := []struct {
		name string
		span func(trace.Span)
		want []string // substrings of the line
	}{
		{"multi-line value", func(s trace.Span) {
			s.SetAttributes(attribute.String("db.query.text", "SELECT\tid\nFROM\torders"))
		}, []string{`db.query.text="SELECT\tid\nFROM\torders"`}},
		{"terminal escape in a value", func(s trace.Span) {
			s.SetAttributes(attribute.String("x", "a\x1b[2Jb"))
		}, []string{`x="a\x1b[2Jb"`}},
		{"newline in a key", func(s trace.Span) {
			s.SetAttributes(attribute.String("a\nb", "v"))
		}, []string{`"a\nb"=v`}},
		{"newline in a slice", func(s trace.Span) {
			s.SetAttributes(attribute.StringSlice("lines", []string{"one", "two\nthree"}))
		}, []string{`lines="[\"one\",\"two\\nthree\"]"`}}, // the JSON form, quoted
		{"newline in an event name and its attributes", func(s trace.Span) {
			s.AddEvent("bad\nevent", trace.WithAttributes(attribute.String("k\r", "\x1b]0;title\a")))
		}, []string{`| "bad\nevent"{"k\r"="\x1b]0;title\a"}`}},
		{"newline in the status", func(s trace.Span) {
			s.SetStatus(codes.Error, "line one\nline two")
		}, []string{`error="line one\nline two"`}},
		{"invalid UTF-8 and an empty value", func(s trace.Span) {
			s.SetAttributes(attribute.String("bin", "\xff\xfe"), attribute.String("empty", ""))
		}, []string{`bin="\xff\xfe"`, `empty=""`}},
		{"plain values stay plain", func(s trace.Span) {
			s.SetAttributes(attribute.String("http.route", "/orders/{id}"), attribute.Int("n", 3),
				attribute.String("unicode", "café"))
			s.RecordError(errors.New("boom")) // the exception event is left out
		}, []string{`http.route="/orders/{id}"`, ` n=3`, ` unicode=café`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			shutdown := setup(t, otelhooks.WithSpanWriter(&buf))
			_, span := otel.Tracer("test").Start(context.Background(), "query\n\x1b[31mred")
			tt.span(span)
			span.End()
			require.NoError(t, shutdown(context.Background()))

			out := buf.String()
			assert.Equal(t, 1, strings.Count(out, "\n"), "one span, one line:\n%q", out)
			assert.True(t, strings.HasSuffix(out, "\n"), "the line ends with its newline: %q", out)
			assert.NotContains(t, out, "\x1b", "a raw terminal escape")
			assert.NotContains(t, out, "\r", "a raw carriage return")
			assert.True(t, strings.HasPrefix(out, `span "query\n\x1b[31mred" `), "the name is quoted: %q", out)
			assert.NotContains(t, out, "exception")
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
}
