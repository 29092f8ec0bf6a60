package retry

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/aragora/resilience/internal/inflight"
)

// A Budget limits the retries of many executions together. Per-execution
// limits (MaxRetries) do not protect a dependency that fails for everyone:
// each caller then sends it MaxRetries+1 times its traffic, just when it can
// least take it. A budget is shared by every retry policy that calls the same
// dependency (pass the same value to [WithBudget]), and refuses retries once
// they would exceed its share of the traffic; the first attempt of an
// execution always runs.
//
// The two budgets are [TokenBucket], gRPC's retry throttling, and
// [ConcurrencyBudget], Envoy's retry budget. A Budget is safe for concurrent
// use; its methods are unexported, so that the accounting stays the
// policies' own.
type Budget interface {
	begin()        // an execution starts
	end()          // it ends
	succeeded()    // an attempt succeeded
	failed()       // an attempt failed with an error worth retrying
	acquire() bool // may a retry be made now? If so, it holds a share until release
	release()      // the retry's attempt ended
}

// TokenBucket is the retry throttling of gRPC (proposal A6): a count of
// tokens, starting full at maxTokens, that every attempt failing with an
// error worth retrying decrements by 1 (and an error that asks not to be
// retried, as server pushback does), and every successful attempt increments
// by tokenRatio, never above maxTokens. Retries are allowed only while the
// count is above maxTokens/2; below, executions end after their first
// attempt until successes refill the bucket.
//
// With maxTokens 10 and tokenRatio 0.1, gRPC's example, retries stop when
// about one attempt in eleven fails, after a burst of at most 5 failures.
// Counts are kept in thousandths of a token, the precision gRPC specifies.
type TokenBucket struct {
	tokens    atomic.Int64 // in thousandths
	max       int64
	threshold int64
	ratio     int64
}

var _ Budget = (*TokenBucket)(nil)

const milli = 1000

// NewTokenBucket returns a full token bucket. maxTokens must be in (0, 1000],
// as gRPC requires, and tokenRatio in [0.001, maxTokens]; both are counted in
// thousandths.
func NewTokenBucket(maxTokens, tokenRatio float64) (*TokenBucket, error) {
	if !(maxTokens > 0 && maxTokens <= 1000) {
		return nil, fmt.Errorf("retry: TokenBucket maxTokens is %v; want a number in (0, 1000]", maxTokens)
	}
	m := int64(math.Round(maxTokens * milli))
	r := int64(math.Round(tokenRatio * milli))
	if !(tokenRatio > 0 && r >= 1 && r <= m) {
		return nil, fmt.Errorf("retry: TokenBucket tokenRatio is %v; want a number in [0.001, maxTokens]", tokenRatio)
	}
	b := &TokenBucket{max: m, threshold: m / 2, ratio: r}
	b.tokens.Store(m)
	return b, nil
}

// Tokens returns the current count of tokens.
func (b *TokenBucket) Tokens() float64 { return float64(b.tokens.Load()) / milli }

func (b *TokenBucket) begin() {}
func (b *TokenBucket) end()   {}

func (b *TokenBucket) succeeded() {
	for {
		t := b.tokens.Load()
		if t >= b.max {
			return // the common case: a full bucket costs one load
		}
		if b.tokens.CompareAndSwap(t, min(t+b.ratio, b.max)) {
			return
		}
	}
}

func (b *TokenBucket) failed() {
	for {
		t := b.tokens.Load()
		if t <= 0 {
			return
		}
		if b.tokens.CompareAndSwap(t, max(t-milli, 0)) {
			return
		}
	}
}

func (b *TokenBucket) acquire() bool { return b.tokens.Load() > b.threshold }
func (b *TokenBucket) release()      {}

// ConcurrencyBudget is Envoy's retry budget: the retries in progress may be
// at most budgetPercent of the executions in progress, or
// minRetryConcurrency, whichever is more, at the moment a retry is decided.
// A retry is in progress from that decision, its wait included, to the end of
// its attempt; an execution from its start to its end. Where a TokenBucket remembers past
// failures, this budget looks only at the present, so it recovers as soon as
// the load does, and needs concurrent traffic to mean anything: a lone
// caller always has minRetryConcurrency retries to spend.
type ConcurrencyBudget struct {
	share *inflight.Share // executions in progress, and the retries among them
}

var _ Budget = (*ConcurrencyBudget)(nil)

// NewConcurrencyBudget returns a budget of budgetPercent (in [0, 100]) of the
// executions in progress, and at least minRetryConcurrency (0 or more) retries
// at a time. Envoy's defaults are 20 and 3. Both zero would forbid every
// retry, and is an error.
func NewConcurrencyBudget(budgetPercent float64, minRetryConcurrency int) (*ConcurrencyBudget, error) {
	if !(budgetPercent >= 0 && budgetPercent <= 100) {
		return nil, fmt.Errorf("retry: ConcurrencyBudget budgetPercent is %v; want a number in [0, 100]", budgetPercent)
	}
	if minRetryConcurrency < 0 {
		return nil, fmt.Errorf("retry: ConcurrencyBudget minRetryConcurrency is %d; want 0 or more", minRetryConcurrency)
	}
	if budgetPercent == 0 && minRetryConcurrency == 0 {
		return nil, fmt.Errorf("retry: ConcurrencyBudget budgetPercent and minRetryConcurrency are both zero, which allows no retry")
	}
	return &ConcurrencyBudget{share: inflight.New(budgetPercent, minRetryConcurrency)}, nil
}

// InFlight returns the executions and the retries in progress.
func (b *ConcurrencyBudget) InFlight() (executions, retries int) { return b.share.InFlight() }

func (b *ConcurrencyBudget) begin()        { b.share.Begin() }
func (b *ConcurrencyBudget) end()          { b.share.End() }
func (b *ConcurrencyBudget) succeeded()    {}
func (b *ConcurrencyBudget) failed()       {}
func (b *ConcurrencyBudget) acquire() bool { return b.share.Acquire() }
func (b *ConcurrencyBudget) release()      { b.share.Release() }
