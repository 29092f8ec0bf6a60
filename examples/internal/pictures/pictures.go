// Package pictures draws the README's pictures from what the end-to-end
// tests read back from the backends: one trace's waterfall, from the spans
// Jaeger returns, and the breaker and SLO panels' data over an outage, from
// the series Prometheus returns. The tests save that data as JSON
// (E2E_PICTURES_DIR) and cmd/pictures draws it, so that make pictures keeps
// the pictures true to the telemetry.
package pictures

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
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
	Note             string  // after the name in the picture, such as "#2 (hedge)" or "503"
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

// DrawTrace draws t's waterfall into file, SVG or PNG by its extension, as
// Jaeger's timeline shows it: one row per span, parents above their
// children, a bar from the span's start to its end (green when its status is
// ok, red when it is an error), its events marked by triangles above the bar
// and named beside them, and a legend below that says so. Each row is named
// by the span's name and its Note. A label that would run past the right
// edge is drawn to the left of its triangle.
func DrawTrace(t Trace, file string) error {
	if len(t.Spans) == 0 {
		return fmt.Errorf("pictures: trace %s has no span", t.TraceID)
	}
	p := newPlot()
	p.Title.Text = "One request to the demo, as Jaeger shows it"
	p.X.Label.Text = "ms since the request began"
	n := len(t.Spans)
	names := make([]string, n)
	total := 0.0
	for _, s := range t.Spans {
		total = max(total, s.Start+s.Duration)
	}
	for i, s := range t.Spans {
		y := float64(n - 1 - i) // the first span on top
		names[n-1-i] = strings.TrimSpace(s.Name + " " + s.Note)
		// A span shorter than 1/200 of the trace is drawn that wide, so
		// that it shows.
		end := s.Start + max(s.Duration, total/200)
		bar, err := spanBar(s.Start, end, y, s.Error)
		if err != nil {
			return err
		}
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
			mark, err := eventMark(e.At, y+0.42)
			if err != nil {
				return err
			}
			p.Add(mark)
			label, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: e.At, Y: y + 0.42}}, Labels: []string{e.Name}})
			if err != nil {
				return err
			}
			label.TextStyle[0].Font = sans(vg.Points(10))
			label.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(1 + 11*float64(raise))}
			if e.At > total*0.6 { // near the right edge: the label goes left
				label.TextStyle[0].XAlign = draw.XRight
				label.Offset.X = -label.Offset.X - slack(label.TextStyle[0], []string{e.Name})
			}
			p.Add(label)
		}
	}
	p.NominalY(names...)
	roomLeft(&p.Y, names)
	p.X.Min, p.X.Max = 0, total*1.02
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.2

	okBar, err := spanBar(0, 1, 0, false)
	if err != nil {
		return err
	}
	errBar, err := spanBar(0, 1, 0, true)
	if err != nil {
		return err
	}
	mark, err := eventMark(0, 0)
	if err != nil {
		return err
	}
	left, right := legend(), legend()
	left.Add("span, status ok", okBar)
	left.Add("span, status error", errBar)
	right.Add("span event (retry, hedge, exception…), named beside it", mark)
	right.Add("after a name: the attempt's number, a hedge, the HTTP status")
	return save(file, 9*vg.Inch, vg.Length(1.5+0.42*float64(n))*vg.Inch, [][]*plot.Plot{{p}}, []plot.Legend{left, right})
}

// The pictures' text is set in Liberation Sans, whose widths are Arial's and
// Helvetica's: an SVG names those as its fallbacks (fontFamilies), which
// most readers' browsers have. Where none is installed the text is drawn in
// another sans-serif, up to a fifth wider (DejaVu Sans), and labels that end
// where something begins get that much room (slack, roomLeft).
var (
	svgFamily    = []byte("font-family:Liberation Sans;")
	fontFamilies = []byte("font-family:Liberation Sans,Arial,Helvetica,sans-serif;")
)

// sans is Liberation Sans of the given size.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot is a plot whose every text is in sans, a size larger than
// gonum's defaults, for a picture shown at a README's width.
func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.TextStyle.Font = sans(vg.Points(14))
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(vg.Points(12))
		a.Tick.Label.Font = sans(vg.Points(11))
	}
	p.Legend.TextStyle.Font = sans(vg.Points(10))
	return p
}

// slack is the room, beyond what sty measures, that the widest of labels
// needs when a renderer draws it in a font a fifth wider.
func slack(sty text.Style, labels []string) vg.Length {
	w := vg.Length(0)
	for _, l := range labels {
		w = max(w, sty.Width(l))
	}
	return w / 5
}

// roomLeft moves the tick labels of a left axis away from it by their slack,
// through ticks that long, drawn transparent (gonum skips the length of
// ticks of no width): a label is drawn from where it starts, so that a wider
// font lengthens it to the right, towards the axis.
func roomLeft(a *plot.Axis, labels []string) {
	a.Tick.Length += slack(a.Tick.Label, labels)
	a.Tick.LineStyle = draw.LineStyle{Width: vg.Points(0.5), Color: color.Transparent}
}

// spanBar is the bar of a span from start to end on row y.
func spanBar(start, end, y float64, failedSpan bool) (*plotter.Polygon, error) {
	bar, err := plotter.NewPolygon(plotter.XYs{{X: start, Y: y - 0.3}, {X: end, Y: y - 0.3}, {X: end, Y: y + 0.3}, {X: start, Y: y + 0.3}})
	if err != nil {
		return nil, err
	}
	bar.Color = ok
	if failedSpan {
		bar.Color = failed
	}
	bar.LineStyle.Width = 0
	return bar, nil
}

// eventMark is the triangle of a span event at (at, y).
func eventMark(at, y float64) (*plotter.Scatter, error) {
	pts, err := plotter.NewScatter(plotter.XYs{{X: at, Y: y}})
	if err != nil {
		return nil, err
	}
	pts.GlyphStyle.Shape = draw.TriangleGlyph{}
	pts.GlyphStyle.Radius = vg.Points(4)
	pts.GlyphStyle.Color = neutral
	return pts, nil
}

// legend is an empty legend in the pictures' style, drawn from the top left
// of its area.
func legend() plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font = sans(vg.Points(10))
	l.Padding = vg.Points(3)
	l.ThumbnailWidth = vg.Points(24)
	return l
}

// DrawOutage draws o into file, SVG or PNG by its extension: the breaker's
// state above, the burn rates against the page thresholds below, the outage
// and the page shaded, and the legend under both.
func DrawOutage(o Outage, file string) error {
	if len(o.Breaker.Points) == 0 || len(o.Burn) == 0 {
		return fmt.Errorf("pictures: the outage has no breaker state or no burn rate")
	}
	outageShade := color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x30}
	pageShade := color.NRGBA{R: 0x55, G: 0x55, B: 0x55, A: 0x30}
	top := newPlot()
	top.Title.Text = "An outage of the demo's upstream, as Prometheus recorded it"
	top.Y.Label.Text = "breaker"
	top.Y.Min, top.Y.Max = -0.2, 2.2
	top.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "closed"}, {Value: 1, Label: "half-open"}, {Value: 2, Label: "open"}})
	if err := shade(top, []Range{{0, o.End}}, -0.2, 2.2, outageShade); err != nil {
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

	bottom := newPlot()
	bottom.X.Label.Text = "seconds from the start of the outage"
	bottom.Y.Label.Text = "burn rate"
	high := 15.0
	for _, s := range o.Burn {
		for _, pt := range s.Points {
			high = max(high, pt.V)
		}
	}
	if err := shade(bottom, []Range{{0, o.End}}, 0, high*1.05, outageShade); err != nil {
		return err
	}
	if err := shade(bottom, o.Page, 0, high*1.05, pageShade); err != nil {
		return err
	}
	left, right := legend(), legend()
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
		left.Add(s.Name, l)
	}
	var threshold *plotter.Line
	for _, th := range []float64{14.4, 6} {
		if threshold, err = plotter.NewLine(plotter.XYs{{X: minT(o), Y: th}, {X: maxT(o), Y: th}}); err != nil {
			return err
		}
		threshold.Color = neutral
		threshold.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		bottom.Add(threshold)
	}
	right.Add("breaker state", steps)
	right.Add("page thresholds: burn rates 14.4 and 6", threshold)
	for _, sw := range []struct {
		name string
		c    color.Color
	}{{"the upstream down", outageShade}, {"the page alert firing", pageShade}} {
		box, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 0, Y: 1}})
		if err != nil {
			return err
		}
		box.Color, box.LineStyle.Width = sw.c, 0
		right.Add(sw.name, box)
	}
	bottom.Y.Min = 0
	top.X.Min, top.X.Max = minT(o), maxT(o)
	bottom.X.Min, bottom.X.Max = minT(o), maxT(o)
	roomLeft(&top.Y, []string{"half-open"})
	return save(file, 9*vg.Inch, 7*vg.Inch, [][]*plot.Plot{{top}, {bottom}}, []plot.Legend{left, right})
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
// format its extension names (svg, png…), with legends side by side in a
// strip below them.
func save(file string, w, h vg.Length, plots [][]*plot.Plot, legends []plot.Legend) error {
	img, err := draw.NewFormattedCanvas(w, h, strings.TrimPrefix(filepath.Ext(file), "."))
	if err != nil {
		return err
	}
	dc := draw.New(img)
	strip := vg.Length(0)
	for _, l := range legends {
		strip = max(strip, l.Rectangle(dc).Size().Y)
	}
	strip += vg.Millimeter * 3
	pad := vg.Millimeter * 3
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: pad, PadRight: vg.Millimeter * 5}
	canvases := plot.Align(plots, tiles, draw.Crop(dc, 0, 0, strip, 0))
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	// The legends side by side from the plots' left edge, each as wide as
	// its widest entry and its slack.
	area := draw.Crop(dc, pad, 0, 0, strip-dc.Size().Y-vg.Millimeter)
	x := vg.Length(0)
	for i := range legends {
		w := legends[i].Rectangle(area).Size().X
		legends[i].Draw(draw.Crop(area, x, 0, 0, 0))
		x += w*6/5 + vg.Millimeter*4
	}
	var b bytes.Buffer
	if _, err := img.WriteTo(&b); err != nil {
		return err
	}
	out := b.Bytes()
	if _, isSVG := img.(*vgsvg.Canvas); isSVG {
		out = bytes.ReplaceAll(out, svgFamily, fontFamilies)
	}
	return os.WriteFile(file, out, 0o644)
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
