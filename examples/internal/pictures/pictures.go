// Package pictures draws the README's pictures from what the end-to-end
// tests read back from the backends: one trace's waterfall, from the spans
// Jaeger returns, and the breaker and SLO panels' data over an outage, from
// the series Prometheus returns. The tests save that data as JSON
// (E2E_PICTURES_DIR) and cmd/pictures draws it, so that make pictures keeps
// the pictures true to the telemetry.
package pictures

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The files the tests write and cmd/pictures reads, in one directory.
const (
	TraceFile  = "trace.json"
	OutageFile = "outage.json"
)

// Trace is one trace as Jaeger returned it: times in milliseconds from the
// start of its first span.
type Trace struct {
	TraceID string
	Spans   []Span // parents before children, then by start
}

// Span is one span of a Trace.
type Span struct {
	ID, Parent, Name string
	Start, Duration  float64 // ms
	Error            bool
	Events           []Event
}

// Event is a span event.
type Event struct {
	Name string
	At   float64 // ms from the trace's start
}

// Outage is what Prometheus recorded over an outage of the demo's upstream:
// times in seconds from the outage's start.
type Outage struct {
	End     float64  // when the upstream came back
	Breaker Series   // the breaker's state: 0 closed, 1 half-open, 2 open
	Burn    []Series // SLO burn rates, one per window and source
	Page    []Range  // when the page alert fired
}

// Series is one time series.
type Series struct {
	Name   string
	Points []Point
}

// Point is one sample.
type Point struct{ T, V float64 }

// Range is a span of time.
type Range struct{ From, To float64 }

// Save writes v as JSON to file.
func Save(file string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// Load reads the JSON of file into v.
func Load(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

var (
	ok      = color.RGBA{R: 0x4c, G: 0x9a, B: 0x2a, A: 0xff}
	failed  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	neutral = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	palette = []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
		color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	}
)

// DrawTrace draws t's waterfall into file, SVG or PNG by its extension: one
// bar per span, its events marked above it, failed spans in red.
func DrawTrace(t Trace, file string) error {
	if len(t.Spans) == 0 {
		return fmt.Errorf("pictures: trace %s has no span", t.TraceID)
	}
	p := plot.New()
	p.Title.Text = "One execution in Jaeger: " + t.Spans[0].Name
	p.X.Label.Text = "ms since the trace began (triangles: span events)"
	n := len(t.Spans)
	names := make([]string, n)
	total := 0.0
	for _, s := range t.Spans {
		total = max(total, s.Start+s.Duration)
	}
	for i, s := range t.Spans {
		y := float64(n - 1 - i) // the first span on top
		names[n-1-i] = s.Name
		// A span shorter than 1/200 of the trace is drawn that wide, so
		// that it shows.
		end := s.Start + max(s.Duration, total/200)
		bar, err := plotter.NewPolygon(plotter.XYs{{X: s.Start, Y: y - 0.3}, {X: end, Y: y - 0.3}, {X: end, Y: y + 0.3}, {X: s.Start, Y: y + 0.3}})
		if err != nil {
			return err
		}
		bar.Color = ok
		if s.Error {
			bar.Color = failed
		}
		bar.LineStyle.Width = 0
		p.Add(bar)
		lastAt, raise := math.Inf(-1), 0
		for _, e := range s.Events {
			// Labels of events close together go one above the other.
			if e.At-lastAt < total/25 {
				raise++
			} else {
				raise = 0
			}
			lastAt = e.At
			pts, err := plotter.NewScatter(plotter.XYs{{X: e.At, Y: y + 0.42}})
			if err != nil {
				return err
			}
			pts.GlyphStyle.Shape = draw.TriangleGlyph{}
			pts.GlyphStyle.Radius = vg.Points(4)
			pts.GlyphStyle.Color = neutral
			p.Add(pts)
			label, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: e.At, Y: y + 0.42}}, Labels: []string{e.Name}})
			if err != nil {
				return err
			}
			label.TextStyle[0].Font.Size = vg.Points(8)
			label.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(2 + 9*float64(raise))}
			p.Add(label)
		}
	}
	p.NominalY(names...)
	p.X.Min, p.X.Max = 0, total*1.15 // room for the last events' labels
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.2
	return save(file, 9*vg.Inch, vg.Length(1.2+0.45*float64(n))*vg.Inch, [][]*plot.Plot{{p}})
}

// DrawOutage draws o into file, SVG or PNG by its extension: the breaker's state above, the burn
// rates against the page thresholds below, the outage and the page shaded.
func DrawOutage(o Outage, file string) error {
	if len(o.Breaker.Points) == 0 || len(o.Burn) == 0 {
		return fmt.Errorf("pictures: the outage has no breaker state or no burn rate")
	}
	top := plot.New()
	top.Title.Text = "An outage of the demo's upstream, as Prometheus recorded it"
	top.Y.Label.Text = "breaker"
	top.Y.Min, top.Y.Max = -0.2, 2.2
	top.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "closed"}, {Value: 1, Label: "half-open"}, {Value: 2, Label: "open"}})
	if err := shade(top, []Range{{0, o.End}}, 0, 2.2, color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x30}); err != nil {
		return err
	}
	steps, err := plotter.NewLine(xys(o.Breaker.Points))
	if err != nil {
		return err
	}
	steps.StepStyle = plotter.PostStep
	steps.Color = failed
	steps.Width = vg.Points(2)
	top.Add(steps)

	bottom := plot.New()
	bottom.X.Label.Text = "seconds from the start of the outage (shaded); the page alert firing in grey"
	bottom.Y.Label.Text = "burn rate"
	high := 15.0
	for _, s := range o.Burn {
		for _, pt := range s.Points {
			high = max(high, pt.V)
		}
	}
	if err := shade(bottom, []Range{{0, o.End}}, 0, high*1.05, color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x30}); err != nil {
		return err
	}
	if err := shade(bottom, o.Page, 0, high*1.05, color.NRGBA{R: 0x55, G: 0x55, B: 0x55, A: 0x30}); err != nil {
		return err
	}
	for i, s := range o.Burn {
		l, err := plotter.NewLine(xys(s.Points))
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		if strings.Contains(s.Name, "monitor") {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		bottom.Add(l)
		bottom.Legend.Add(s.Name, l)
	}
	for _, th := range []float64{14.4, 6} {
		l, err := plotter.NewLine(plotter.XYs{{X: minT(o), Y: th}, {X: maxT(o), Y: th}})
		if err != nil {
			return err
		}
		l.Color = neutral
		l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		bottom.Add(l)
	}
	bottom.Legend.Top = true
	bottom.Legend.TextStyle.Font.Size = vg.Points(8)
	bottom.Y.Min = 0
	top.X.Min, top.X.Max = minT(o), maxT(o)
	bottom.X.Min, bottom.X.Max = minT(o), maxT(o)
	return save(file, 9*vg.Inch, 6*vg.Inch, [][]*plot.Plot{{top}, {bottom}})
}

func xys(pts []Point) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i] = plotter.XY{X: p.T, Y: p.V}
	}
	return out
}

func minT(o Outage) float64 {
	m := o.Breaker.Points[0].T
	for _, s := range o.Burn {
		for _, p := range s.Points {
			m = min(m, p.T)
		}
	}
	return m
}

func maxT(o Outage) float64 {
	m := o.Breaker.Points[len(o.Breaker.Points)-1].T
	for _, s := range o.Burn {
		for _, p := range s.Points {
			m = max(m, p.T)
		}
	}
	return m
}

// shade fills each range of rs from y0 to y1.
func shade(p *plot.Plot, rs []Range, y0, y1 float64, c color.Color) error {
	for _, r := range rs {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: r.From, Y: y0}, {X: r.To, Y: y0}, {X: r.To, Y: y1}, {X: r.From, Y: y1}})
		if err != nil {
			return err
		}
		poly.Color = c
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	return nil
}

// save draws plots, a grid of rows, into a file of the given size, in the
// format its extension names (svg, png…).
func save(file string, w, h vg.Length, plots [][]*plot.Plot) error {
	img, err := draw.NewFormattedCanvas(w, h, strings.TrimPrefix(filepath.Ext(file), "."))
	if err != nil {
		return err
	}
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// SortSpans orders spans parents first, then by start: the waterfall's
// order.
func SortSpans(spans []Span) []Span {
	byID := map[string]Span{}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range spans {
		byID[s.ID] = s
	}
	for _, s := range spans {
		if _, ok := byID[s.Parent]; ok {
			children[s.Parent] = append(children[s.Parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(a, b Span) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	}
	var out []Span
	var walk func([]Span)
	walk = func(ss []Span) {
		slices.SortFunc(ss, byStart)
		for _, s := range ss {
			out = append(out, s)
			walk(children[s.ID])
		}
	}
	walk(roots)
	return out
}
