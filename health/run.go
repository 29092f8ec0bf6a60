package health

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/aragora/resilience/policy"
	"go.opentelemetry.io/otel/trace"
)

// run is one run of a check's function.
type run struct {
	ch    *check
	span  trace.Span
	start time.Time
	ctx   context.Context // the function's: ends at the timeout or at Stop
	done  chan struct{}   // closed once settled and its changes delivered

	// Guarded by Checker.mu.
	cancel   context.CancelFunc // nil until ctx is made
	settled  bool               // its outcome is recorded (or dropped, at Stop)
	returned bool               // its function has returned
}

// CheckAll runs every check now, concurrently, and returns the report once
// each has ended. Each run is bounded by its check's
// timeout even when the check ignores its context: the run fails with
// [ErrTimeout] at its timeout, and CheckAll does not wait for the function to
// return. (A run that nobody waits for any more, its caller gone, is settled
// by whoever next waits for it, or when its function returns: as a timeout
// either way, if its timeout has passed.) Such a straggler keeps its
// goroutine until it returns; meanwhile
// the check is not started again (a CheckAll records [ErrStillRunning]
// instead), so a stuck check costs one goroutine, not one per run, and
// [Checker.Stop] waits for it.
//
// A run belongs to the checker, not to the caller: its context carries ctx's
// values (so its spans are children of CheckAll's) but not ctx's
// cancellation. When ctx ends first, CheckAll returns at once with what is
// known then; the runs go on to their end or timeout and are recorded, so a
// probe that disconnects never counts as a failure of the things it probed.
// A ctx already done runs nothing.
//
// A check whose run is already under way (another CheckAll, the background
// loop) is not run twice: CheckAll waits for that run. With Config.CacheTTL
// set, a check whose last run ended less than CacheTTL ago is not run either.
// Once the checker is stopped, CheckAll runs nothing and returns
// [Checker.Report].
func (c *Checker) CheckAll(ctx context.Context) Report {
	return c.checkAll(ctx, false)
}

// checkAll runs every check, or only liveness checks, and reports on them.
func (c *Checker) checkAll(ctx context.Context, livenessOnly bool) Report {
	c.mu.Lock()
	checks, stopped := c.checks, c.stopped
	c.mu.Unlock()
	if stopped || ctx.Err() != nil {
		return c.report(livenessOnly)
	}

	ctx, span := c.tel.tracer.Start(ctx, c.tel.checkAllName, c.tel.checkAllStart...)
	defer span.End()
	waits := make([]*run, 0, len(checks))
	for _, ch := range checks {
		if livenessOnly && !ch.liveness {
			continue
		}
		if r := c.startRun(ctx, ch); r != nil {
			waits = append(waits, r)
		}
	}
	for _, r := range waits {
		if !c.await(ctx, r) {
			break
		}
	}
	r := c.report(livenessOnly)
	span.SetAttributes(c.tel.statusAttr[r.Status])
	return r
}

// await waits until r is settled, settling it itself once r's context ends
// (at the timeout, or at Stop) without its function having returned. It
// reports false, leaving r to others, when ctx ends first.
func (c *Checker) await(ctx context.Context, r *run) bool {
	select {
	case <-r.done:
	case <-r.ctx.Done():
		c.settleEnded(r, nil, false)
		<-r.done
	case <-ctx.Done():
		return false
	}
	return true
}

func (c *Checker) report(livenessOnly bool) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reportLocked(livenessOnly)
}

// startRun starts a run of ch, unless one is under way, the result is
// cached, or ch is stuck. It returns the run to wait for, or nil.
func (c *Checker) startRun(ctx context.Context, ch *check) *run {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	if r := ch.run; r != nil {
		if !r.settled {
			c.mu.Unlock()
			return r // join the run under way
		}
		// The previous run timed out and its function has not returned.
		changes := c.recordLocked(ch, ErrStillRunning, now(), 0)
		status, failures := ch.status, ch.failures
		c.mu.Unlock()
		_, span := c.tel.tracer.Start(ctx, ch.attrs.spanName, ch.attrs.start...)
		c.tel.endRun(span, ErrStillRunning, status, failures, changes)
		c.deliver()
		return nil
	}
	if ttl := c.cfg.CacheTTL; ttl > 0 && !ch.lastRun.IsZero() && now().Sub(ch.lastRun) < ttl {
		c.mu.Unlock()
		return nil
	}
	// The run is made whole under mu, so that whoever finds it (a joiner,
	// Stop) finds its context and span. Starting a span calls no code of
	// ours, so this cannot deadlock.
	r := &run{ch: ch, done: make(chan struct{})}
	ctx, r.span = c.tel.tracer.Start(ctx, ch.attrs.spanName, ch.attrs.start...)
	rctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), ch.timeout, ch.timeoutErr)
	r.ctx, r.cancel, r.start = rctx, cancel, now()
	ch.run = r
	c.tracker.add(1) // so that Stop waits for the function
	c.mu.Unlock()

	go func() {
		defer c.tracker.done()
		defer cancel()
		returned := false
		defer func() {
			if !returned { // fn called runtime.Goexit: call recovers panics
				c.settleEnded(r, ErrGoexit, true)
			}
		}()
		err := call(rctx, ch.fn)
		returned = true
		c.settleEnded(r, err, true)
	}()
	return r
}

// settleEnded settles r, once its function returned err (returned), or once
// its context ended: by the timeout, which fails the run whatever the
// function returns later, or by Stop, which drops it.
func (c *Checker) settleEnded(r *run, err error, returned bool) {
	if r.ctx.Err() != nil {
		if cause := context.Cause(r.ctx); cause == r.ch.timeoutErr {
			err = cause
		} else {
			c.settle(r, nil, true, returned)
			return
		}
	}
	c.settle(r, err, false, returned)
}

// call runs fn, turning a panic into a *policy.PanicError.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &policy.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// settle records the outcome of r, once; a run ended by Stop is dropped
// rather than counted. Its changes reach the listeners before r.done closes.
// returned says that r's function has returned: the check may then run
// again.
func (c *Checker) settle(r *run, err error, stopped, returned bool) {
	ch := r.ch
	c.mu.Lock()
	r.returned = r.returned || returned
	if r.returned && ch.run == r {
		ch.run = nil // the check may run again
	}
	if r.settled {
		c.mu.Unlock()
		return
	}
	r.settled = true
	var changes []StatusChange
	if !stopped {
		end := now()
		if err == ch.timeoutErr {
			// A run settled after its timeout, by whoever waited next,
			// ended when it timed out.
			end = r.start.Add(ch.timeout)
		}
		changes = c.recordLocked(ch, err, end, end.Sub(r.start))
	}
	status, failures := ch.status, ch.failures
	c.mu.Unlock()

	if stopped {
		r.span.End()
	} else {
		c.tel.endRun(r.span, err, status, failures, changes)
	}
	c.deliver()
	close(r.done)
}

// recordLocked counts the outcome of a run of ch that ended at t after
// latency, updates its status and the overall one, and returns the changes,
// which it also queues for the listeners.
func (c *Checker) recordLocked(ch *check, err error, t time.Time, latency time.Duration) []StatusChange {
	ch.lastRun, ch.latency = t, latency
	if err == nil {
		ch.failures, ch.lastErr, ch.lastPassed = 0, nil, t
	} else {
		ch.failures++
		ch.lastErr = err
	}
	status := Healthy
	if ch.failures >= ch.threshold {
		status = Unhealthy
		if !ch.critical || errors.Is(err, ErrDegraded) {
			status = Degraded
		}
	}
	first := len(c.pending)
	if status != ch.status {
		c.pending = append(c.pending, StatusChange{Checker: c.name, Check: ch.name, From: ch.status, To: status})
		ch.status = status
		c.updateOverallLocked()
	}
	return c.pending[first:len(c.pending):len(c.pending)]
}
