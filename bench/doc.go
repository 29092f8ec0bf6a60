// Package bench measures the resilience library against its peers, side by
// side in one binary, as zap's benchmarks do: failsafe-go (and its
// failsafehttp), sony/gobreaker, cenkalti/backoff, avast/retry-go,
// sethvargo/go-retry, golang.org/x/sync's semaphore and
// golang.org/x/time/rate.
//
// It is a module of its own, so that the peers' requirements never reach the
// library's users. The package holds no code: its benchmarks live in the
// _test files, one file per kind of policy, and the command in benchtable
// turns their output into the table of the README's Benchmarks section:
//
//	make bench-peers
//
// # Naming
//
// Each benchmark is a group of sub-benchmarks that do the same work, stated
// in the group's comment. Its sub-benchmarks are named after who does the
// work: "resilience" is this library (the one every ratio is taken against),
// "resilience-…" another way of doing it with this library, "floor-…" the
// least the work can cost (a direct call, an atomic add, context.WithTimeout
// and its cancel, a bare SDK span, a bare http.Transport or handler on
// loopback), and every other name is a peer's. Each runs serially and, with
// the suffix "/parallel", from every P at once through b.RunParallel, where
// each goroutine keeps its own results.
package bench
