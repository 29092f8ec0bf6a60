package health

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Start runs the checks in the background until ctx ends or [Checker.Stop]
// is called. Each check keeps a schedule of its own: it runs at once, then
// again after each wait of about Config.CheckInterval, measured from the end
// of its previous run. A check that hangs until its timeout delays only its
// own next run, never another check's, so no check goes longer than
// CheckInterval plus its own timeout without a run. Each wait is shortened at
// random by up to the jitter fraction (see [WithJitter]), so that many
// checkers started together do not probe their dependencies in lock-step. A
// check registered while the loop runs starts its schedule at once.
// [Checker.Report] and the HTTP handlers then serve the latest results
// without running anything.
//
// Start returns at once. It fails with [ErrStarted] while a loop runs and
// with [ErrStopped] after Stop; once ctx has ended the loop, Start may be
// called again.
func (c *Checker) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
		return ErrStopped
	case c.running:
		return ErrStarted
	}
	c.running = true
	c.wake = make(chan struct{}, 1)
	c.tracker.add(1)
	go c.loop(ctx, c.wake)
	return nil
}

// loop gives each check a goroutine that runs it on its schedule, and one to
// each check registered later (Register signals wake), until ctx ends or
// Stop.
func (c *Checker) loop(ctx context.Context, wake <-chan struct{}) {
	defer c.tracker.done()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait() // each ends with ctx or Stop
		c.mu.Lock()
		c.running, c.wake = false, nil
		c.mu.Unlock()
	}()
	scheduled := 0
	for {
		c.mu.Lock()
		checks := c.checks[scheduled:]
		c.mu.Unlock()
		for _, ch := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.schedule(ctx, ch)
			}()
		}
		scheduled += len(checks)
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-c.stop:
			return
		}
	}
}

// schedule runs ch, then again after each wait, until ctx ends or Stop.
func (c *Checker) schedule(ctx context.Context, ch *check) {
	for {
		if r := c.startRun(ctx, ch); r != nil && !c.await(ctx, r) {
			return
		}
		timer := time.NewTimer(c.nextWait())
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		case <-c.stop:
			timer.Stop()
			return
		}
	}
}

// nextWait returns the wait before a check's next background run: drawn
// uniformly from (CheckInterval×(1−jitter), CheckInterval].
func (c *Checker) nextWait() time.Duration {
	d := c.cfg.CheckInterval
	if c.jitter > 0 {
		d -= time.Duration(rand.Float64() * c.jitter * float64(d))
	}
	return d
}

// Stop ends the checker for good: it stops the background loop, cancels the
// context of every run under way (such runs are not counted), unregisters the
// status gauge, and waits until every goroutine the checker started has
// returned, including those of checks that outlived their timeout. A check
// that ignores its context forever makes Stop wait forever; [Checker.Shutdown]
// bounds the wait. For the same reason a check's function or a status-change
// listener must not call Stop itself: it would wait for its own goroutine.
// After Stop, CheckAll runs nothing and Start and Register
// fail with [ErrStopped]; Report and the handlers serve the last results.
// Stop may be called more than once.
func (c *Checker) Stop() {
	_ = c.Shutdown(context.Background())
}

// Shutdown is [Checker.Stop] with a bound on the wait: it returns ctx's error
// if goroutines of the checker (checks that ignore their context) are still
// running when ctx ends, and nil once all have returned.
func (c *Checker) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	first := !c.stopped
	c.stopped = true
	var cancels []context.CancelFunc
	if first {
		for _, ch := range c.checks {
			if r := ch.run; r != nil && !r.returned {
				cancels = append(cancels, r.cancel)
			}
		}
	}
	c.mu.Unlock()
	if first {
		close(c.stop)
		for _, cancel := range cancels {
			cancel()
		}
		c.tel.unregister()
	}
	return c.tracker.wait(ctx)
}

// tracker counts running goroutines. Unlike a sync.WaitGroup, it may be
// added to while someone waits, as CheckAll may run during Stop.
type tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n is 0
}

func (t *tracker) add(n int) {
	t.mu.Lock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n += n
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// wait returns nil once no goroutine runs, or ctx's error when it ends first.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
