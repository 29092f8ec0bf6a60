package throttle_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/resilience/throttle"
)

func ExampleNew() {
	thr, _ := throttle.New("search", throttle.Config{K: 2})
	overloaded := errors.New("backend: 503")

	// The backend refuses every call: as refusals pile up, the throttle
	// refuses more and more calls itself.
	local := 0
	for range 1000 {
		err := thr.Execute(context.Background(), func(context.Context) error { return overloaded })
		if errors.Is(err, throttle.ErrThrottled) {
			local++
		}
	}
	fmt.Println("refused locally:", local > 900)
	fmt.Printf("refusal probability: %.3f\n", thr.RejectionProbability())
	// Output:
	// refused locally: true
	// refusal probability: 0.999
}
