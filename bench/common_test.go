package bench_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aragora/resilience/policy"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// work is the protected call: it does nothing, so that what is measured is
// the cost of protecting it. It is called through a variable, as callers
// call theirs, so that no benchmark inlines it.
//
//go:noinline
func work(context.Context) error { return nil }

var op = work

var errFlaky = errors.New("bench: flaky")

// failTwice returns a call that fails twice, then succeeds, and so on: each
// execution that retries it makes three attempts. Each goroutine gets its
// own, so that no counter is shared between them.
func failTwice() func(context.Context) error {
	n := 0
	return func(context.Context) error {
		n++
		if n%3 != 0 {
			return errFlaky
		}
		return nil
	}
}

// A contender is one way of doing a group's work. setup builds what the
// goroutines share (a breaker, a pipeline), and returns the maker of each
// goroutine's call, which may hold state of its own (failTwice's counter).
type contender struct {
	name    string
	setup   func(b *testing.B) func() func(context.Context) error
	wantErr bool // the work ends in an error, as an open breaker's does
}

// simple is a contender whose goroutines share everything.
func simple(name string, setup func(b *testing.B) func(context.Context) error) contender {
	return contender{name: name, setup: func(b *testing.B) func() func(context.Context) error {
		call := setup(b)
		return func() func(context.Context) error { return call }
	}}
}

// rejected is a simple contender whose work ends in a rejection.
func rejected(name string, setup func(b *testing.B) func(context.Context) error) contender {
	c := simple(name, setup)
	c.wantErr = true
	return c
}

// compare runs each contender serially and in parallel, after checking once
// that its work ends as the group says: every contender does the same work.
func compare(b *testing.B, contenders ...contender) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			call := c.setup(b)()
			ctx := context.Background()
			check(b, c, call(ctx))
			var err error
			b.ReportAllocs()
			for b.Loop() {
				err = call(ctx)
			}
			check(b, c, err)
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			newCall := c.setup(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				call := newCall()
				ctx := context.Background()
				var err error // this goroutine's own result
				ran := false
				for pb.Next() {
					err, ran = call(ctx), true
				}
				if ran {
					check(b, c, err)
				}
			})
		})
	}
}

func check(b *testing.B, c contender, err error) {
	if (err != nil) != c.wantErr {
		b.Errorf("%s: got error %v, want an error: %t", c.name, err, c.wantErr)
	}
}

// off returns a pipeline of policies that records no telemetry.
func off(b *testing.B, policies ...policy.Policy) *policy.Pipeline {
	b.Helper()
	p, err := policy.New("bench", policies...)
	if err != nil {
		b.Fatal(err)
	}
	return p.With(policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// must returns v, and panics when err is not nil: the benchmarks build
// their policies from constants, so an error is a bug of the benchmark.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
