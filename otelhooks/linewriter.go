package otelhooks

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// Span names and error descriptions are always quoted; attribute keys and
// values and event names are quoted unless they are plain, so
// that what a span carries can neither split its line nor drive the terminal.
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
		b.WriteString(" | " + quoted(ev.Name) + "{")
		var inner strings.Builder
		writeAttrs(&inner, ev.Attributes)
		b.WriteString(strings.TrimPrefix(inner.String(), " "))
		b.WriteString("}")
	}
	b.WriteString("\n")
}

func writeAttrs(b *strings.Builder, attrs []attribute.KeyValue) {
	for _, kv := range attrs {
		b.WriteString(" " + quoted(string(kv.Key)) + "=" + quoted(kv.Value.String()))
	}
}

// quoted returns s as it is when it is plain, and as a Go string literal
// otherwise.
func quoted(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

// plain reports whether s can be written unquoted on a span's line: it is not
// empty, and holds only printable characters other than the space and the
// characters that delimit the line's parts (" \ { } | =). A newline, a tab, a
// terminal escape or a byte that is not UTF-8 needs quoting.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || r == ' ' || strings.ContainsRune(`"\{}|=`, r) || !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}
