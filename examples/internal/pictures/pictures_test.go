package pictures_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{ID: "e", Name: "upstream execute", Duration: 80, Error: true, Events: []pictures.Event{{Name: "retry", At: 20}, {Name: "retry.exhausted", At: 79}}},
		{ID: "a1", Parent: "e", Name: "upstream attempt", Start: 1, Duration: 18, Error: true},
		{ID: "a2", Parent: "e", Name: "upstream attempt", Start: 40, Duration: 5},
	}}
	require.NoError(t, pictures.DrawTrace(tr, file))
	svg := read(t, file)
	for _, want := range []string{"<svg", "upstream execute", "upstream attempt", "retry.exhausted"} {
		assert.Contains(t, svg, want)
	}
	assert.ErrorContains(t, pictures.DrawTrace(pictures.Trace{TraceID: "none"}, file), "trace none has no span")
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
	for _, want := range []string{"<svg", "half-open", "Prometheus, 5s", "monitor, 5s", "burn rate"} {
		assert.Contains(t, svg, want)
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
