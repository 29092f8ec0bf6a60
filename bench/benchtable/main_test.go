package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTable(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "run.txt"))
	require.NoError(t, err)
	defer in.Close()
	var out bytes.Buffer
	require.NoError(t, run(in, &out, "testdata"))
	got := out.String()

	assert.Contains(t, got, "goos: linux · goarch: amd64 · cpu: Test CPU @ 2.00GHz")
	assert.Contains(t, got, "### BreakerOpen\n\nAn open breaker rejects the call without running it.\n\n")
	// Medians: floor 11 ns; ours 30 ns (an even count: the middle two, 30 and
	// 30); gobreaker 120 ns. The floor's ratio is ours ÷ floor, a peer's is
	// its time ÷ ours.
	assert.Contains(t, got, "| floor-direct | 11.0 ±9% | 0 | ours 2.73× (+19 ns) | — | — | — |\n")
	assert.Contains(t, got, "| resilience | 30.0 ±33% | 0 | 1 | 15.0 ±0% | 0 | 1 |\n")
	assert.Contains(t, got, "| gobreaker | 120 ±25% | 2 | 4.00× | — | — | — |\n")
	// A group without our contender has no ratios; no allocs means a dash.
	assert.Contains(t, got, "| x-time-rate | — | — | — | 8.0 ±0% | — | — |\n")
	assert.NotContains(t, got, "LoneTopLevel", "a benchmark of no group is not in the table")
	assert.Less(t, strings.Index(got, "### BreakerOpen"), strings.Index(got, "### RateLimit"), "groups keep their order")
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in, group, contender string
		parallel, ok         bool
	}{
		{"BenchmarkBreakerOpen/gobreaker-8", "BreakerOpen", "gobreaker", false, true},
		{"BenchmarkBreakerOpen/gobreaker/parallel-8", "BreakerOpen", "gobreaker", true, true},
		{"BenchmarkTimeout/floor-context-with-timeout", "Timeout", "floor-context-with-timeout", false, true},
		{"BenchmarkAlone-2", "", "", false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			g, c, p, ok := split(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.group, g)
			assert.Equal(t, tc.contender, c)
			assert.Equal(t, tc.parallel, p)
		})
	}
}

func TestBadInput(t *testing.T) {
	var out bytes.Buffer
	err := run(strings.NewReader("PASS\nok  \tpkg\t0.1s\n"), &out, "")
	assert.ErrorIs(t, err, errNoBenchmarks)

	err = run(strings.NewReader("BenchmarkA/b-2 \t 10 \t x ns/op\n"), &out, "")
	assert.ErrorContains(t, err, `line 1: ns/op "x"`)

	err = run(strings.NewReader("BenchmarkA/resilience-2 \t 10 \t 1 ns/op\n"), &out, "no-such-dir-is-fine-for-glob")
	assert.NoError(t, err, "a directory without Go files describes nothing")
}

func TestDescriptionsOfBrokenSource(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_test.go"), []byte("package x\nfunc {"), 0o600))
	_, err := descriptions(dir)
	assert.Error(t, err)
}

func TestSplice(t *testing.T) {
	name := filepath.Join(t.TempDir(), "README.md")
	doc := "# x\n\n## Benchmarks\n\n<!-- bench-peers:begin -->\nold table\n<!-- bench-peers:end -->\n\n## Next\n"
	require.NoError(t, os.WriteFile(name, []byte(doc), 0o600))

	require.NoError(t, splice(name, []byte("| new | table |\n")))
	got, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "# x\n\n## Benchmarks\n\n<!-- bench-peers:begin -->\n| new | table |\n<!-- bench-peers:end -->\n\n## Next\n", string(got))

	// Again: the markers stay, and so does the rest.
	require.NoError(t, splice(name, []byte("| newer |\n")))
	got, err = os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "# x\n\n## Benchmarks\n\n<!-- bench-peers:begin -->\n| newer |\n<!-- bench-peers:end -->\n\n## Next\n", string(got))
}

func TestSpliceWithoutMarkers(t *testing.T) {
	for _, doc := range []string{
		"no markers\n",
		"<!-- bench-peers:end -->\n<!-- bench-peers:begin -->\n", // out of order
		"<!-- bench-peers:begin -->\nno end\n",
	} {
		_, err := spliced([]byte(doc), []byte("table"))
		assert.ErrorIs(t, err, errNoMarkers, doc)
	}
	assert.ErrorIs(t, splice(filepath.Join(t.TempDir(), "missing.md"), nil), os.ErrNotExist)
}
