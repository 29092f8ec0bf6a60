package pictures_test

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/examples/internal/pictures"
)

func TestSortSpansParentsFirstThenByStart(t *testing.T) {
	spans := []pictures.Span{
		{ID: "a2", Parent: "e", Name: "attempt", Start: 30},
		{ID: "e", Parent: "root", Name: "execute", Start: 1},
		{ID: "a1", Parent: "e", Name: "attempt", Start: 2},
		{ID: "root", Parent: "elsewhere", Name: "GET /", Start: 0},
	}
	var ids []string
	for _, s := range pictures.SortSpans(spans) {
		ids = append(ids, s.ID)
	}
	assert.Equal(t, []string{"root", "e", "a1", "a2"}, ids)
}

func TestDrawTrace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "trace.svg")
	tr := pictures.Trace{TraceID: "abc", Spans: []pictures.Span{
		{ID: "e", Name: "a-long-pipeline-name-fallback execute", Duration: 80, Error: true,
			Events: []pictures.Event{{Name: "retry", At: 20}, {Name: "breaker.state_change", At: 79.9}, {Name: "hedge.budget_exhausted", At: 80}}},
		{ID: "a1", Parent: "e", Name: "upstream attempt", Note: "#1", Start: 1, Duration: 18, Error: true},
		{ID: "a2", Parent: "e", Name: "upstream attempt", Note: "#2 (hedge)", Start: 40, Duration: 5},
	}}
	require.NoError(t, pictures.DrawTrace(tr, file))
	svg := read(t, file)
	for _, want := range []string{"<svg", "a-long-pipeline-name-fallback execute", "upstream attempt #1", "upstream attempt #2 (hedge)",
		"hedge.budget_exhausted", "breaker.state_change", "span, status ok", "span, status error", "span event"} {
		assert.Contains(t, svg, want)
	}
	assertTextInside(t, svg)
	assert.ErrorContains(t, pictures.DrawTrace(pictures.Trace{TraceID: "none"}, file), "trace none has no span")
}

// assertTextInside checks that every text of svg, as wide as a sans-serif
// font a fifth wider than the one it was laid out with would draw it, lies
// inside the picture, and names the fonts that renderers substitute.
func assertTextInside(t *testing.T, svg string) {
	t.Helper()
	width := regexp.MustCompile(`<svg width="([0-9.]+)pt"`).FindStringSubmatch(svg)
	require.NotNil(t, width)
	w, err := strconv.ParseFloat(width[1], 64)
	require.NoError(t, err)
	texts := regexp.MustCompile(`<text x="([-0-9.]+)"[^>]*font-size:([0-9.]+)px">([^<]*)</text>`).FindAllStringSubmatch(svg, -1)
	require.NotEmpty(t, texts)
	for _, m := range texts {
		x, _ := strconv.ParseFloat(m[1], 64)
		size, _ := strconv.ParseFloat(m[2], 64)
		// DejaVu Sans averages 0.55em a character over such labels.
		est := 0.55 * size * float64(utf8.RuneCountInString(html.UnescapeString(m[3])))
		assert.GreaterOrEqual(t, x, 0.0, "%q starts left of the picture", m[3])
		assert.LessOrEqual(t, x+est, w, "%q runs past the picture's right edge", m[3])
	}
	assert.Contains(t, svg, "font-family:Liberation Sans,Arial,Helvetica,sans-serif;")
	assert.NotContains(t, svg, "Liberation Serif")
}

func TestDrawOutage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "outage.svg")
	o := pictures.Outage{
		End:     5,
		Breaker: pictures.Series{Name: "upstream", Points: []pictures.Point{{T: -3, V: 0}, {T: 1, V: 2}, {T: 10, V: 1}, {T: 11, V: 0}}},
		Burn: []pictures.Series{
			{Name: "Prometheus, 5s", Points: []pictures.Point{{T: -3, V: 0}, {T: 2, V: 80}, {T: 12, V: 0}}},
			{Name: "monitor, 5s", Points: []pictures.Point{{T: -3, V: 0}, {T: 2, V: 78}, {T: 12, V: 0}}},
		},
		Page: []pictures.Range{{From: 2, To: 30}},
	}
	require.NoError(t, pictures.DrawOutage(o, file))
	svg := read(t, file)
	for _, want := range []string{"<svg", "half-open", "Prometheus, 5s", "monitor, 5s", "burn rate", "breaker state",
		"page thresholds", "the upstream down", "the page alert firing"} {
		assert.Contains(t, svg, want)
	}
	assertTextInside(t, svg)
	// The legend is below the plots: its texts are lower than the x axis's
	// label (SVG's y grows downwards).
	y := func(text string) float64 {
		m := regexp.MustCompile(`<text x="[-0-9.]+" y="([-0-9.]+)"[^>]*>` + regexp.QuoteMeta(text) + `</text>`).FindStringSubmatch(svg)
		require.NotNil(t, m, text)
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		return v
	}
	axis := y("seconds from the start of the outage")
	for _, entry := range []string{"Prometheus, 5s", "monitor, 5s", "breaker state", "the page alert firing"} {
		assert.Greater(t, y(entry), axis, "legend entry %q is below the plots", entry)
	}
	assert.ErrorContains(t, pictures.DrawOutage(pictures.Outage{}, file), "no breaker state")
	assert.Error(t, pictures.DrawOutage(o, filepath.Join(t.TempDir(), "missing", "outage.svg")))
}

func TestSaveLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), pictures.OutageFile)
	in := pictures.Outage{End: 4, Breaker: pictures.Series{Name: "b", Points: []pictures.Point{{T: 1, V: 2}}}}
	require.NoError(t, pictures.Save(file, in))
	var out pictures.Outage
	require.NoError(t, pictures.Load(file, &out))
	assert.Equal(t, in, out)
	assert.Error(t, pictures.Load(filepath.Join(t.TempDir(), "none.json"), &out))
}

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}
