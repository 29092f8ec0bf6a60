package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

var errNoBenchmarks = errors.New("no benchmark results in the input")

// results are the medians of a run of benchmarks, in the order they first
// appeared.
type results struct {
	env    []string // goos, goarch, pkg, cpu lines
	groups []*group
}

type group struct {
	name       string
	contenders []*contender
}

type contender struct {
	name             string
	serial, parallel *figures // nil when not measured
}

// figures are the runs of one benchmark.
type figures struct {
	ns     []float64
	allocs []float64
}

// median returns the median of xs, which is not empty.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread returns the largest distance of a run from the median, as a
// fraction of the median: the ± benchstat would show, roughly.
func spread(xs []float64) float64 {
	m := median(xs)
	if m == 0 {
		return 0
	}
	var d float64
	for _, x := range xs {
		d = max(d, abs(x-m)/m)
	}
	return d
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// parse reads go test -bench output.
func parse(in io.Reader) (*results, error) {
	res := &results{}
	groups := map[string]*group{}
	sc := bufio.NewScanner(in)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		for _, key := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(text, key) && !slices.Contains(res.env, text) {
				res.env = append(res.env, text)
			}
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 4 || fields[3] != "ns/op" {
			continue // a benchmark's name printed alone, before its log
		}
		ns, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: ns/op %q: %w", line, fields[2], err)
		}
		allocs := -1.0
		for i := 4; i+1 < len(fields); i += 2 {
			if fields[i+1] == "allocs/op" {
				if allocs, err = strconv.ParseFloat(fields[i], 64); err != nil {
					return nil, fmt.Errorf("line %d: allocs/op %q: %w", line, fields[i], err)
				}
			}
		}
		gname, cname, parallel, ok := split(fields[0])
		if !ok {
			continue // a benchmark of no group: not one of ours
		}
		g := groups[gname]
		if g == nil {
			g = &group{name: gname}
			groups[gname] = g
			res.groups = append(res.groups, g)
		}
		i := slices.IndexFunc(g.contenders, func(c *contender) bool { return c.name == cname })
		if i < 0 {
			i = len(g.contenders)
			g.contenders = append(g.contenders, &contender{name: cname})
		}
		f := &g.contenders[i].serial
		if parallel {
			f = &g.contenders[i].parallel
		}
		if *f == nil {
			*f = &figures{}
		}
		(*f).ns = append((*f).ns, ns)
		if allocs >= 0 {
			(*f).allocs = append((*f).allocs, allocs)
		}
	}
	return res, sc.Err()
}

// split splits a benchmark's full name, such as
// BenchmarkBreakerOpen/gobreaker/parallel-8, into its group, its contender,
// and whether it ran in parallel. The -N suffix of GOMAXPROCS goes.
func split(name string) (group, contender string, parallel, ok bool) {
	name = strings.TrimPrefix(name, "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	group, contender, ok = strings.Cut(name, "/")
	if !ok || group == "" || contender == "" {
		return "", "", false, false
	}
	contender, parallel = strings.CutSuffix(contender, "/parallel")
	return group, contender, parallel, true
}
