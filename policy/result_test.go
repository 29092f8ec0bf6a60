package policy_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/aragora/resilience/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setNil replaces any result with nil, as a fallback returning "nothing" does.
type setNil struct{ ok *bool }

func (s setNil) Run(ctx context.Context, ex policy.Execution) error {
	_ = ex.Next(ctx)
	*s.ok = ex.SetResult(nil)
	return nil
}

// nil is a value of every type that has one: SetResult(nil) stores T's zero
// value for an interface, a pointer, a slice, a map, a channel or a func, and
// refuses the others.
func TestSetResultNilStoresTheZeroOfATypeThatHasANil(t *testing.T) {
	var ok bool
	p := policy.MustNew("nil", setNil{ok: &ok})
	ctx := context.Background()

	r, err := policy.Get(ctx, p, func(context.Context) (io.Reader, error) { return io.MultiReader(), nil })
	assert.NoError(t, err)
	assert.True(t, ok, "interface")
	assert.Nil(t, r)

	ptr, _ := policy.Get(ctx, p, func(context.Context) (*int, error) { return new(int), nil })
	assert.True(t, ok, "pointer")
	assert.Nil(t, ptr)

	sl, _ := policy.Get(ctx, p, func(context.Context) ([]string, error) { return []string{"x"}, nil })
	assert.True(t, ok, "slice")
	assert.Nil(t, sl)

	m, _ := policy.Get(ctx, p, func(context.Context) (map[string]int, error) { return map[string]int{"a": 1}, nil })
	assert.True(t, ok, "map")
	assert.Nil(t, m)

	n, _ := policy.Get(ctx, p, func(context.Context) (int, error) { return 7, nil })
	assert.False(t, ok, "an int has no nil")
	assert.Equal(t, 7, n, "a refused SetResult changes nothing")

	// Result reports the nil of an interface as nil.
	var saw any = "unset"
	var okSub bool
	q := policy.MustNew("sub", substitute{with: nil, saw: &saw, ok: &okSub})
	_, err = policy.Get(ctx, q, func(context.Context) (error, error) { return nil, errors.New("failed") })
	assert.NoError(t, err)
	assert.True(t, okSub)
	assert.Nil(t, saw)
}

// resultType notes the ResultType its execution reports.
type resultType struct{ got *reflect.Type }

func (r resultType) Run(ctx context.Context, ex policy.Execution) error {
	*r.got = ex.ResultType()
	return ex.Next(ctx)
}

func TestResultTypeIsGetsTypeParameter(t *testing.T) {
	var got reflect.Type
	p := policy.MustNew("types", resultType{got: &got})
	_, err := policy.Get(context.Background(), p, func(context.Context) (io.Reader, error) { return nil, nil })
	require.NoError(t, err)
	assert.Equal(t, reflect.TypeFor[io.Reader](), got)
	require.NoError(t, p.Execute(context.Background(), func(context.Context) error { return nil }))
	assert.Nil(t, got, "Execute has no result")
}

// A nil *Pipeline is not usable; each method says to build one with New.
func TestANilPipelineSaysToBuildItWithNew(t *testing.T) {
	var p *policy.Pipeline
	ran := false
	err := p.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	assert.ErrorIs(t, err, policy.ErrNilPipeline)
	assert.Contains(t, err.Error(), "policy.New")
	_, err = policy.Get(context.Background(), p, func(context.Context) (int, error) { ran = true; return 1, nil })
	assert.ErrorIs(t, err, policy.ErrNilPipeline)
	assert.False(t, ran)
	assert.Equal(t, "", p.Name())
	assert.False(t, p.Recording())
	assert.PanicsWithError(t, policy.ErrNilPipeline.Error(), func() { p.With() })
}
