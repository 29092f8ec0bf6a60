package policy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// both runs the rest of the pipeline twice at once, in two branches (the
// second one hedged), and keeps the result of the branch that succeeded; the
// way a hedging policy uses Fork and Join, without its timing.
type both struct{}

func (both) Run(ctx context.Context, ex policy.Execution) error {
	branches := [2]policy.Execution{ex.Fork(false), ex.Fork(true)}
	var errs [2]error
	var wg sync.WaitGroup
	for i, b := range branches {
		wg.Go(func() { errs[i] = b.Next(ctx) })
	}
	wg.Wait()
	win := 0
	if errs[0] != nil {
		win = 1
	}
	for i, b := range branches {
		ex.Join(b, i == win)
	}
	return errs[win]
}

// seen notes, in each branch, the result the attempt left and sets one of its
// own: a policy inside a branch sees the branch's result only.
type seen struct {
	mu   sync.Mutex
	vals []any
}

func (s *seen) Run(ctx context.Context, ex policy.Execution) error {
	err := ex.Next(ctx)
	s.mu.Lock()
	s.vals = append(s.vals, ex.Result())
	s.mu.Unlock()
	return err
}

func TestBranchesRunAtOnceWithResultsOfTheirOwn(t *testing.T) {
	rec := newRecorder()
	inner := &seen{}
	p := rec.instrument(policy.MustNew("forked", both{}, inner))
	v, err := policy.Get(context.Background(), p, func(ctx context.Context) (string, error) {
		if policy.Attempt(ctx) == 1 {
			return "failed", errUpstream
		}
		return "won", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "won", v, "Get returns the winning branch's value")
	assert.ElementsMatch(t, []any{"failed", "won"}, inner.vals, "each branch's policies see its own result")

	exec := rec.span(t, "forked execute")
	assert.Equal(t, int64(2), attrs(exec.Attributes())[policy.AttrAttempts])
	hedged := map[int64]any{}
	for _, s := range rec.spansNamed("forked attempt") {
		a := attrs(s.Attributes())
		hedged[a[policy.AttrAttempt].(int64)] = a[policy.AttrHedge]
		assert.Equal(t, exec.SpanContext().SpanID(), s.Parent().SpanID())
	}
	assert.Equal(t, map[int64]any{1: nil, 2: true}, hedged, "attempt 2, forked hedged, says so")
}

func TestAPanicInABranchIsRaisedByExecute(t *testing.T) {
	p := policy.MustNew("forked", both{})
	assert.PanicsWithValue(t, "branch blew up", func() {
		_ = p.Execute(context.Background(), func(ctx context.Context) error {
			if policy.Attempt(ctx) == 2 {
				panic("branch blew up")
			}
			return nil
		})
	})
}

func TestJoinIgnoresWhatIsNotABranch(t *testing.T) {
	var got error
	p := policy.MustNew("join", policyFunc(func(ctx context.Context, ex policy.Execution) error {
		ex.Join(ex, true) // not a branch: nothing happens
		got = ex.Next(ctx)
		return got
	}))
	v, err := policy.Get(context.Background(), p, func(context.Context) (int, error) { return 7, errors.New("x") })
	assert.Error(t, err)
	assert.Equal(t, 7, v)
}

type policyFunc func(ctx context.Context, ex policy.Execution) error

func (f policyFunc) Run(ctx context.Context, ex policy.Execution) error { return f(ctx, ex) }

// A branch forked from a branch takes over the number its parent reserved
// and has not used, so that nested forks number attempts from 1, none lost.
func TestForksOfABranchNumberAttemptsWithoutGaps(t *testing.T) {
	rec := newRecorder()
	p := rec.instrument(policy.MustNew("nested", both{}, both{}))
	var mu sync.Mutex
	var seen []int
	err := p.Execute(context.Background(), func(ctx context.Context) error {
		mu.Lock()
		seen = append(seen, policy.Attempt(ctx))
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	assert.ElementsMatch(t, []int{1, 2, 3, 4}, seen)
	exec := rec.span(t, "nested execute")
	assert.Equal(t, int64(4), attrs(exec.Attributes())[policy.AttrAttempts])
}
