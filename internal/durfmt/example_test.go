package durfmt_test

import (
	"fmt"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
)

// A message prints the rounded duration: what is left of a breaker's open
// state, read from a clock, is 29.999995431s, and a person reads 30s.
func ExampleRound() {
	left := 30*time.Second - 4569*time.Nanosecond
	fmt.Printf("breaker: open, next trial in %v\n", durfmt.Round(left))
	fmt.Println(durfmt.Round(1499999999 * time.Nanosecond))
	fmt.Println(durfmt.Round(347123456 * time.Nanosecond))
	// Output:
	// breaker: open, next trial in 30s
	// 1.5s
	// 347ms
}
