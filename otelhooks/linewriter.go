package otelhooks

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// lineExporter writes each span as one line of text:
//
//	span "checkout attempt" trace=4bf9… span=00f0… parent=53995c… 1.204ms error="upstream: 503" resilience.attempt=1 … | retry{resilience.attempt=1 resilience.delay=0.1}
//
// Attributes of the resource and the instrumentation scope are left out: the
// line is for a person reading a terminal, and the IDs lead to the rest.
type lineExporter struct {
	mu sync.Mutex
	w  io.Writer
}

func newLineExporter(w io.Writer) *lineExporter { return &lineExporter{w: w} }

func (e *lineExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var b strings.Builder
	for _, s := range spans {
		formatSpan(&b, s)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (e *lineExporter) Shutdown(context.Context) error { return nil }

func formatSpan(b *strings.Builder, s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	fmt.Fprintf(b, "span %q trace=%s span=%s", s.Name(), sc.TraceID(), sc.SpanID())
	if p := s.Parent(); p.IsValid() {
		fmt.Fprintf(b, " parent=%s", p.SpanID())
	}
	b.WriteString(" " + s.EndTime().Sub(s.StartTime()).Round(time.Microsecond).String())
	if st := s.Status(); st.Code == codes.Error {
		b.WriteString(" error=" + strconv.Quote(st.Description))
	}
	writeAttrs(b, s.Attributes())
	for _, ev := range s.Events() {
		if ev.Name == "exception" {
			continue // the error is on the status already
		}
		b.WriteString(" | " + ev.Name + "{")
		var inner strings.Builder
		writeAttrs(&inner, ev.Attributes)
		b.WriteString(strings.TrimPrefix(inner.String(), " "))
		b.WriteString("}")
	}
	b.WriteString("\n")
}

func writeAttrs(b *strings.Builder, attrs []attribute.KeyValue) {
	for _, kv := range attrs {
		v := kv.Value.String()
		if kv.Value.Type() == attribute.STRING && strings.ContainsAny(v, " \"{}|=") {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + string(kv.Key) + "=" + v)
	}
}
