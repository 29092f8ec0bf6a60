package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/resilience/examples/internal/pictures"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunDrawsBothPictures(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	var log bytes.Buffer
	assert.Error(t, run([]string{"-in", in, "-out", out}, &log), "no data yet")

	require.NoError(t, pictures.Save(filepath.Join(in, pictures.TraceFile), pictures.Trace{TraceID: "t1",
		Spans: []pictures.Span{{ID: "e", Name: "upstream execute", Duration: 10}}}))
	assert.Error(t, run([]string{"-in", in, "-out", out}, &log), "no outage yet")
	require.NoError(t, pictures.Save(filepath.Join(in, pictures.OutageFile), pictures.Outage{End: 3,
		Breaker: pictures.Series{Points: []pictures.Point{{T: 0, V: 0}, {T: 1, V: 2}}},
		Burn:    []pictures.Series{{Name: "5s", Points: []pictures.Point{{T: 0, V: 0}, {T: 1, V: 50}}}}}))
	require.NoError(t, run([]string{"-in", in, "-out", out}, &log))
	assert.Contains(t, log.String(), "drew trace t1")
	for _, f := range []string{"trace.svg", "outage.svg"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
	assert.Error(t, run(nil, &log), "no -in")
	assert.Error(t, run([]string{"-in", in, "extra"}, &log))
}
