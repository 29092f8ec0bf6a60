package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ours is the contender every ratio is taken against.
const ours = "resilience"

func write(out io.Writer, res *results, docs map[string]string) error {
	w := &errWriter{w: out}
	w.printf("<!-- Written by make bench-peers: the medians of each benchmark's runs. -->\n\n")
	if len(res.env) > 0 {
		w.printf("%s\n\n", strings.Join(res.env, " · "))
	}
	w.printf("Ratios: a peer's time ÷ ours, and ours ÷ a floor's (with the difference in ns); " +
		"± is the largest distance of a run from the median.\n")
	for _, g := range res.groups {
		w.printf("\n### %s\n\n", g.name)
		if d := docs[g.name]; d != "" {
			w.printf("%s\n\n", d)
		}
		w.printf("| contender | ns/op | allocs/op | ratio | parallel ns/op | allocs/op | ratio |\n")
		w.printf("|---|---:|---:|---:|---:|---:|---:|\n")
		var base *contender
		for _, c := range g.contenders {
			if c.name == ours {
				base = c
			}
		}
		for _, c := range g.contenders {
			w.printf("| %s | %s | %s |\n", c.name, cells(c.serial, baseOf(base, false), c.name),
				cells(c.parallel, baseOf(base, true), c.name))
		}
	}
	return w.err
}

func baseOf(c *contender, parallel bool) *figures {
	switch {
	case c == nil:
		return nil
	case parallel:
		return c.parallel
	}
	return c.serial
}

// cells returns the three cells of one figure: time, allocations, ratio.
func cells(f, base *figures, name string) string {
	if f == nil || len(f.ns) == 0 {
		return "— | — | —"
	}
	ns := median(f.ns)
	t := fmt.Sprintf("%s ±%.0f%%", fmtNs(ns), 100*spread(f.ns))
	a := "—"
	if len(f.allocs) > 0 {
		a = fmt.Sprintf("%.0f", median(f.allocs))
	}
	r := "—"
	switch {
	case name == ours:
		r = "1"
	case base == nil || len(base.ns) == 0 || ns == 0:
	case strings.HasPrefix(name, "floor-"):
		b := median(base.ns)
		r = fmt.Sprintf("ours %.2f× (%+.0f ns)", b/ns, b-ns)
	default:
		r = fmt.Sprintf("%.2f×", ns/median(base.ns))
	}
	return t + " | " + a + " | " + r
}

func fmtNs(ns float64) string {
	if ns < 100 {
		return fmt.Sprintf("%.1f", ns)
	}
	return fmt.Sprintf("%.0f", ns)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (w *errWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}

// descriptions returns the first sentence of the doc comment of each
// BenchmarkX function in the Go files of dir, by group name X, with the
// leading "BenchmarkX:" dropped.
func descriptions(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil || !strings.HasPrefix(fn.Name.Name, "Benchmark") {
				continue
			}
			docs[strings.TrimPrefix(fn.Name.Name, "Benchmark")] = firstSentence(fn.Name.Name, fn.Doc.Text())
		}
	}
	return docs, nil
}

func firstSentence(fn, doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	doc = strings.TrimPrefix(doc, fn+":")
	doc = strings.TrimPrefix(doc, fn)
	doc = strings.TrimSpace(doc)
	if i := strings.Index(doc, ". "); i >= 0 {
		doc = doc[:i+1]
	}
	if doc != "" {
		doc = strings.ToUpper(doc[:1]) + doc[1:]
	}
	return doc
}
