package testdata

import "testing"

// BenchmarkBreakerOpen: an open breaker rejects the call without running it.
// Each breaker was opened by 5 failures.
func BenchmarkBreakerOpen(*testing.B) {}

// BenchmarkUndocumentedHere has no results in run.txt.
func BenchmarkUndocumentedHere(*testing.B) {}
