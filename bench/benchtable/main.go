// Command benchtable turns the output of the peer benchmarks into the
// markdown table of the README's Benchmarks section.
//
//	go test -run '^$' -bench . -benchmem -count=6 | go run ./benchtable -src . > RESULTS.md
//
// It reads go test -bench output (several runs of each benchmark, as -count
// gives them) and takes the median of each figure. Benchmarks are named
// Benchmark<Group>/<contender>[/parallel]: the contender "resilience" is the
// library, whose time every ratio is taken against; a contender named
// "floor-…" is the least the group's work can cost, and its ratio is ours
// divided by it, with the difference in nanoseconds; any other contender's
// ratio is its time divided by ours. With -src, each group's heading is
// followed by the first sentence of its benchmark's doc comment, read from
// the Go files of that directory. With -readme, the table also replaces the
// lines between the markers
//
//	<!-- bench-peers:begin -->
//	<!-- bench-peers:end -->
//
// of that markdown file.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	src := flag.String("src", "", "directory of the benchmarks' Go files, for the groups' descriptions")
	readme := flag.String("readme", "", "markdown file whose bench-peers markers get the table too")
	flag.Parse()
	var table bytes.Buffer
	err := run(os.Stdin, &table, *src)
	if err == nil && *readme != "" {
		err = splice(*readme, table.Bytes())
	}
	if err == nil {
		_, err = os.Stdout.Write(table.Bytes())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

const (
	beginMarker = "<!-- bench-peers:begin -->\n"
	endMarker   = "<!-- bench-peers:end -->"
)

var errNoMarkers = errors.New("no bench-peers markers, in order, in the file")

// splice replaces what lies between the bench-peers markers of the file
// named name with table.
func splice(name string, table []byte) error {
	doc, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := spliced(doc, table)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return os.WriteFile(name, out, 0o644)
}

func spliced(doc, table []byte) ([]byte, error) {
	before, rest, ok := bytes.Cut(doc, []byte(beginMarker))
	if !ok {
		return nil, errNoMarkers
	}
	_, after, ok := bytes.Cut(rest, []byte(endMarker))
	if !ok {
		return nil, errNoMarkers
	}
	out := append([]byte(nil), before...)
	out = append(out, beginMarker...)
	out = append(out, table...)
	out = append(out, endMarker...)
	return append(out, after...), nil
}

func run(in io.Reader, out io.Writer, src string) error {
	res, err := parse(in)
	if err != nil {
		return err
	}
	if len(res.groups) == 0 {
		return errNoBenchmarks
	}
	var docs map[string]string
	if src != "" {
		if docs, err = descriptions(src); err != nil {
			return err
		}
	}
	return write(out, res, docs)
}
