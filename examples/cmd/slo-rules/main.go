// Command slo-rules writes the Prometheus rules of the demo service's
// objectives: the recording and alerting rules that compute, over every
// replica's metrics, what the service's slo.Monitor computes in one process.
//
// The objectives are Go values (demoapp.DefaultConfig, demoapp.PrometheusSLOs):
// a service of one's own writes its rules the same way, from the objectives
// its code holds calls to, at build or deploy time:
//
//	go run ./cmd/slo-rules -o prometheus/slo-rules.yml
//	promtool check rules prometheus/slo-rules.yml
//
// and lists the file under rule_files in Prometheus's configuration.
// The file under prometheus/ is the one scripts/backends.sh and the compose
// file load; a test fails when it differs from what this command writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aragora/resilience/examples/internal/demoapp"
	"github.com/aragora/resilience/slo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "slo-rules:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("slo-rules", flag.ContinueOnError)
	fs.SetOutput(stdout)
	out := fs.String("o", "-", "the rule file to write; - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	b, err := rules()
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// rules returns the rule file of the demo service's objectives.
func rules() ([]byte, error) {
	f, err := slo.PrometheusRules(demoapp.PrometheusSLOs(demoapp.DefaultConfig())...)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
