package benchfloor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aragora/resilience/internal/benchfloor"
	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Both floors run the function once and hand back its error, and the
// pipeline allocates nothing: it records nothing.
func TestTheFloorsRunTheFunctionOnce(t *testing.T) {
	for name, p := range map[string]policy.Policy{"pass": benchfloor.Pass{}, "clock": benchfloor.NewClock()} {
		t.Run(name, func(t *testing.T) {
			pipe := benchfloor.Off(p)
			calls := 0
			want := fmt.Errorf("boom")
			err := pipe.Execute(context.Background(), func(context.Context) error { calls++; return want })
			assert.ErrorIs(t, err, want)
			assert.Equal(t, 1, calls)
			allocs := testing.AllocsPerRun(100, func() {
				require.NoError(t, pipe.Execute(context.Background(), func(context.Context) error { return nil }))
			})
			assert.Zero(t, allocs)
		})
	}
}

func ExampleOff() {
	p := benchfloor.Off(benchfloor.Pass{})
	err := p.Execute(context.Background(), func(context.Context) error { return nil })
	fmt.Println(p.Name(), err)
	// Output: bench <nil>
}
