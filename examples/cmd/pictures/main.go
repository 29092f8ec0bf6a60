// Command pictures draws the README's pictures from the data the end-to-end
// tests save when E2E_PICTURES_DIR is set: the waterfall of a trace read back
// from Jaeger, and the breaker state and SLO burn rates of an outage read
// back from Prometheus. make pictures runs both.
//
//	go run ./cmd/pictures -in DIR -out ../docs/pictures
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aragora/resilience/examples/internal/pictures"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pictures:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pictures", flag.ContinueOnError)
	fs.SetOutput(out)
	in := fs.String("in", "", "the directory the end-to-end tests saved their data in (E2E_PICTURES_DIR)")
	dst := fs.String("out", ".", "the directory to draw the pictures in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: pictures -in DIR [-out DIR]")
	}
	var tr pictures.Trace
	if err := pictures.Load(filepath.Join(*in, pictures.TraceFile), &tr); err != nil {
		return err
	}
	var o pictures.Outage
	if err := pictures.Load(filepath.Join(*in, pictures.OutageFile), &o); err != nil {
		return err
	}
	if err := pictures.DrawTrace(tr, filepath.Join(*dst, "trace.svg")); err != nil {
		return err
	}
	if err := pictures.DrawOutage(o, filepath.Join(*dst, "outage.svg")); err != nil {
		return err
	}
	fmt.Fprintf(out, "pictures: drew trace %s and an outage of %.1fs into %s\n", tr.TraceID, o.End, *dst)
	return nil
}
