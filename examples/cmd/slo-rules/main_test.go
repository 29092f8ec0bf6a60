package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite ../../prometheus/slo-rules.yml")

// committed is the rule file that scripts/backends.sh and the compose file
// load.
const committed = "../../prometheus/slo-rules.yml"

// The committed rule file is what the command writes today: a change of the
// demo's objectives or of the generator shows in review, and never leaves
// the backends with stale rules.
func TestCommittedRulesAreCurrent(t *testing.T) {
	want, err := rules()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(committed, want, 0o644))
	}
	got, err := os.ReadFile(committed)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "%s is stale: run go test ./cmd/slo-rules -update", committed)
}

// promtool accepts what the command writes, to a file and to stdout alike.
func TestRunWritesRulesPromtoolAccepts(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool checks the rules: install Prometheus (Debian: apt-get install --no-install-recommends prometheus)")
	file := filepath.Join(t.TempDir(), "rules.yml")
	var stdout bytes.Buffer
	require.NoError(t, run([]string{"-o", file}, &stdout))
	assert.Empty(t, stdout.String())
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	// Per indicator: 8 error ratios, 6 objective, budget and burn rules, 4
	// call counts (the objective sets AlertMinCalls) and 2 alerts (page and
	// ticket); the demo's objective has two indicators.
	assert.Contains(t, string(out), "SUCCESS: 40 rules found")

	require.NoError(t, run(nil, &stdout))
	written, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(written), stdout.String())
}

func TestRunRefusesBadArguments(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, run([]string{"extra"}, &out), `unexpected arguments ["extra"]`)
	assert.Error(t, run([]string{"-nope"}, &out))
	assert.Error(t, run([]string{"-o", filepath.Join(t.TempDir(), "missing", "rules.yml")}, &out))
}
