package fallback_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/resilience/fallback"
	"github.com/aragora/resilience/internal/oteltest"
	"github.com/aragora/resilience/policy"
)

var (
	errUpstream = errors.New("upstream: 503")
	errCache    = errors.New("cache: miss")
)

func fail(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func failGet(err error) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return "", err }
}

func mustNew(t testing.TB, fn func(context.Context, error) error, opts ...fallback.Option) *fallback.Fallback {
	t.Helper()
	f, err := fallback.New(fn, opts...)
	require.NoError(t, err)
	return f
}

func mustValue[T any](t testing.TB, fn func(context.Context, error) (T, error), opts ...fallback.Option) *fallback.Fallback {
	t.Helper()
	f, err := fallback.NewValue(fn, opts...)
	require.NoError(t, err)
	return f
}

func TestNilFunctionsAreRefusedAtConstruction(t *testing.T) {
	_, err := fallback.New(nil)
	assert.ErrorIs(t, err, fallback.ErrNilFunc)
	_, err = fallback.NewValue[string](nil)
	assert.ErrorIs(t, err, fallback.ErrNilFunc)
}

func TestTheFallbackReplacesTheErrorAndSeesIt(t *testing.T) {
	var seen error
	f := mustNew(t, func(_ context.Context, err error) error { seen = err; return nil })
	assert.NoError(t, f.Execute(context.Background(), fail(errUpstream)))
	assert.ErrorIs(t, seen, errUpstream)
}

func TestASuccessIsLeftAlone(t *testing.T) {
	called := false
	f := mustNew(t, func(context.Context, error) error { called = true; return nil })
	assert.NoError(t, f.Execute(context.Background(), fail(nil)))
	assert.False(t, called, "the fallback ran after a success")
}

func TestTheTypedFallbackSetsTheValueOfGet(t *testing.T) {
	f := mustValue(t, func(context.Context, error) (string, error) { return "cached", nil })
	v, err := fallback.Get(context.Background(), f, failGet(errUpstream))
	require.NoError(t, err)
	assert.Equal(t, "cached", v)

	v, err = fallback.Get(context.Background(), f, func(context.Context) (string, error) { return "fresh", nil })
	require.NoError(t, err)
	assert.Equal(t, "fresh", v)
}

func TestATypedFallbackThatDoesNotFitTheResultFails(t *testing.T) {
	f := mustValue(t, func(context.Context, error) (int, error) { return 7, nil })
	t.Run("Get of another type", func(t *testing.T) {
		_, err := fallback.Get(context.Background(), f, failGet(errUpstream))
		assert.ErrorIs(t, err, fallback.ErrResultType)
		assert.ErrorIs(t, err, errUpstream, "the replaced error is lost")
	})
	t.Run("Execute", func(t *testing.T) {
		err := f.Execute(context.Background(), fail(errUpstream))
		assert.ErrorIs(t, err, fallback.ErrResultType)
		assert.ErrorIs(t, err, errUpstream)
	})
}

func TestAFailingFallbackWrapsBothErrors(t *testing.T) {
	f := mustNew(t, func(context.Context, error) error { return errCache })
	err := f.Execute(context.Background(), fail(errUpstream))
	assert.ErrorIs(t, err, errUpstream)
	assert.ErrorIs(t, err, errCache)
	var fe *fallback.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "fallback: cache: miss (replacing: upstream: 503)", err.Error())

	tf := mustValue(t, func(context.Context, error) (string, error) { return "", errCache })
	_, err = fallback.Get(context.Background(), tf, failGet(errUpstream))
	assert.ErrorIs(t, err, errUpstream)
	assert.ErrorIs(t, err, errCache)
}

func TestTheCallersCancellationIsNeverReplaced(t *testing.T) {
	called := false
	f := mustNew(t, func(context.Context, error) error { called = true; return nil },
		fallback.WithPredicate(func(error) bool { return true }))
	ctx, cancel := context.WithCancel(context.Background())
	err := f.Execute(ctx, func(context.Context) error { cancel(); return context.Canceled })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called, "the fallback answered a caller that cancelled")
}

func TestAnInnerCancellationIsReplaced(t *testing.T) {
	// A context.Canceled that is not the caller's (the function's own
	// client gave up) is an ordinary failure.
	f := mustNew(t, func(context.Context, error) error { return nil })
	assert.NoError(t, f.Execute(context.Background(), fail(context.Canceled)))
}

func TestTheCallersDeadlineIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustValue(t, func(context.Context, error) (string, error) { return "cached", nil })
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		v, err := fallback.Get(ctx, f, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
		require.NoError(t, err)
		assert.Equal(t, "cached", v)
	})
}

func TestThePredicateChoosesWhatFallsBack(t *testing.T) {
	f := mustNew(t, func(context.Context, error) error { return nil }, fallback.WithPredicate(fallback.Rejected))
	assert.ErrorIs(t, f.Execute(context.Background(), fail(errUpstream)), errUpstream)
	refused := errors.Join(policy.ErrRejected, errors.New("breaker: open"))
	assert.NoError(t, f.Execute(context.Background(), fail(refused)))
}

func TestAPanicOfTheFunctionIsRaisedAndNotReplaced(t *testing.T) {
	called := false
	f := mustNew(t, func(context.Context, error) error { called = true; return nil })
	assert.PanicsWithValue(t, "bug", func() {
		_ = f.Execute(context.Background(), func(context.Context) error { panic("bug") })
	})
	assert.False(t, called, "the fallback ran for a panic")
}

func TestPanicsOfTheFallbackAndThePredicateReachTheCaller(t *testing.T) {
	f := mustNew(t, func(context.Context, error) error { panic("fallback bug") })
	assert.PanicsWithValue(t, "fallback bug", func() { _ = f.Execute(context.Background(), fail(errUpstream)) })

	boom := true
	g := mustNew(t, func(context.Context, error) error { return nil },
		fallback.WithPredicate(func(error) bool {
			if boom {
				panic("predicate bug")
			}
			return true
		}))
	assert.PanicsWithValue(t, "predicate bug", func() { _ = g.Execute(context.Background(), fail(errUpstream)) })
	boom = false
	assert.NoError(t, g.Execute(context.Background(), fail(errUpstream)), "the fallback broke after a panic")
}

func TestTheReplacementIsAnEventWithTheReplacedError(t *testing.T) {
	rec := oteltest.NewRecorder()
	f := mustNew(t, func(context.Context, error) error { return nil }, fallback.WithName("cache"))
	p := policy.MustNew("search", f).With(policy.WithTracerProvider(rec.TP), policy.WithMeterProvider(rec.MP))

	require.NoError(t, p.Execute(context.Background(), fail(context.DeadlineExceeded)))
	require.NoError(t, p.Execute(context.Background(), fail(nil)))

	events := rec.Events("search execute")
	require.Len(t, events, 1)
	assert.Equal(t, "fallback", events[0].Name)
	assert.Equal(t, "cache", events[0].Attrs[policy.AttrPolicy].AsString())
	assert.Equal(t, "deadline_exceeded", events[0].Attrs[policy.AttrErrorType].AsString())
	assert.Equal(t, map[string]int64{"cache fallback": 1}, rec.EventCounts(t))
}

func TestConcurrentExecutionsEachGetTheirOwnFallback(t *testing.T) {
	f := mustValue(t, func(_ context.Context, err error) (string, error) { return "fallback: " + err.Error(), nil })
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for j := range 100 {
				want := errors.New(string(rune('a'+i%26)) + string(rune('a'+j%26)))
				v, err := fallback.Get(context.Background(), f, failGet(want))
				if assert.NoError(t, err) {
					assert.Equal(t, "fallback: "+want.Error(), v)
				}
			}
		})
	}
	wg.Wait()
}

func TestAZeroFallbackSaysToBuildItWithNew(t *testing.T) {
	for name, fb := range map[string]*fallback.Fallback{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ran := false
			fn := func(context.Context) error { ran = true; return errors.New("down") }
			err := fb.Execute(context.Background(), fn)
			assert.ErrorIs(t, err, fallback.ErrNotBuilt)
			assert.Contains(t, err.Error(), "fallback.New")
			_, err = fallback.Get(context.Background(), fb, func(context.Context) (int, error) { ran = true; return 0, nil })
			assert.ErrorIs(t, err, fallback.ErrNotBuilt)
			if fb != nil {
				assert.ErrorIs(t, policy.MustNew("zero", fb).Execute(context.Background(), fn), fallback.ErrNotBuilt)
			}
			assert.False(t, ran)
		})
	}
}
