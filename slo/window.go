package slo

import (
	"math/bits"
	"time"
)

// This file holds the monitor's memory: a few rings of bucketed counts, one
// per window, whose size depends on the configuration only, never on traffic.
//
// Each window of length W is a ring of bucketsPerWindow buckets of width
// W/bucketsPerWindow, plus one for the bucket being filled. A window's counts
// at time t are those of the current bucket, of the full buckets before it,
// and of the oldest bucket weighted by the share of it still inside
// [t-W, t]: the sliding-window estimate, exact for traffic that is uniform
// within a bucket and never off by more than one bucket's worth otherwise.
//
// Calls are counted in the finest ring only (the 5-minute window's, at 5s
// for a 30-day objective). Every wider bucket is a whole number of fine
// buckets, aligned with them, so a fine bucket that is complete is folded
// into the current bucket of every wider ring: a call costs three
// increments, and time moving on costs a fold every fine bucket.

// bucketsPerWindow is the resolution of every window.
const bucketsPerWindow = 60

// The windows, shortest first. Their lengths, for a 30-day objective, are
// those of the SRE workbook's multiwindow, multi-burn-rate alerts; for
// another objective window they scale in proportion.
const (
	win5m = iota
	win30m
	win1h
	win2h
	win6h
	win1d
	win3d
	winSLO // the objective's own window: the error budget's span
	numWindows
)

// widths are the bucket widths of the windows, in fine buckets.
var widths = [numWindows]int64{1, 6, 12, 24, 72, 288, 864, 8640}

// fineBuckets is the number of fine buckets in the objective's window.
const fineBuckets = bucketsPerWindow * 8640

// counts are the calls of one bucket.
type counts struct {
	total uint64 // calls recorded
	bad   uint64 // failures, panics and rejections
	slow  uint64 // successes slower than the latency threshold
}

func (c *counts) add(o counts) {
	c.total += o.total
	c.bad += o.bad
	c.slow += o.slow
}

func (c *counts) sub(o counts) {
	c.total -= o.total
	c.bad -= o.bad
	c.slow -= o.slow
}

// ring is one window's buckets.
type ring struct {
	width int64 // bucket width, in fine buckets
	cur   int64 // absolute index of the current bucket: it starts at fine bucket cur*width
	full  counts
	slots [bucketsPerWindow + 1]counts // bucket n lives in slots[n%len(slots)]
}

// current returns the bucket being filled.
func (r *ring) current() *counts { return &r.slots[r.cur%int64(len(r.slots))] }

// advanceTo makes bucket n the current one, expiring what falls out of the
// window on the way.
func (r *ring) advanceTo(n int64) {
	if n <= r.cur {
		return
	}
	const slots = int64(bucketsPerWindow + 1)
	if n-r.cur >= slots {
		r.slots = [bucketsPerWindow + 1]counts{}
		r.full = counts{}
		r.cur = n
		return
	}
	for ; r.cur < n; r.cur++ {
		// The current bucket becomes full; the oldest full one becomes the
		// partly counted oldest; the slot of the previous oldest is reused.
		r.full.add(r.slots[r.cur%slots])
		r.full.sub(r.slots[(r.cur+2)%slots])
		r.slots[(r.cur+1)%slots] = counts{}
	}
}

// estimate returns the window's counts at pos, a time in fine buckets (the
// ring advanced to it), with pending, the calls not yet folded into the
// ring, added.
func (r *ring) estimate(pos float64, pending counts) (total, bad, slow float64) {
	const slots = int64(bucketsPerWindow + 1)
	into := (pos - float64(r.cur*r.width)) / float64(r.width)
	w := 1 - min(max(into, 0), 1) // share of the oldest bucket still in the window
	c := r.full
	c.add(*r.current())
	c.add(pending)
	old := r.slots[(r.cur+1)%slots]
	return float64(c.total) + w*float64(old.total),
		float64(c.bad) + w*float64(old.bad),
		float64(c.slow) + w*float64(old.slow)
}

// windows is a monitor's set of rings. Time enters as a position in fine
// buckets, a float64: the objective's window divided by fineBuckets is not a
// whole number of nanoseconds in general (7 days is not), and a float keeps
// the windows exact while staying monotone, which is all the rings need.
type windows struct {
	tick    float64 // fine bucket width, ns
	rings   [numWindows]ring
	lengths [numWindows]time.Duration
	labels  [numWindows]string // the lengths, as formatWindow writes them
}

func newWindows(window time.Duration) *windows {
	ws := &windows{tick: float64(window) / fineBuckets}
	for i := range ws.rings {
		ws.rings[i].width = widths[i]
		ws.lengths[i] = scale(window, bucketsPerWindow*widths[i])
		ws.labels[i] = formatWindow(ws.lengths[i])
	}
	return ws
}

// scale returns window × fine / fineBuckets, rounded to the nanosecond, in
// 128-bit integer arithmetic: exact, and free of overflow for every window
// up to the longest Duration, since fine ≤ fineBuckets.
func scale(window time.Duration, fine int64) time.Duration {
	hi, lo := bits.Mul64(uint64(window), uint64(fine))
	lo, carry := bits.Add64(lo, fineBuckets/2, 0)
	q, _ := bits.Div64(hi+carry, lo, fineBuckets)
	return time.Duration(q)
}

// at returns the position in fine buckets of ns, a time since the monitor
// started.
func (ws *windows) at(ns int64) float64 { return float64(ns) / ws.tick }

// advance brings every ring to pos, folding the fine buckets that completed
// on the way. It reports whether a fine bucket completed, the moment at which
// alerts may change with time alone.
func (ws *windows) advance(pos float64) bool {
	f := int64(pos)
	fine := &ws.rings[0]
	if f <= fine.cur {
		return false
	}
	done := *fine.current()
	for i := 1; i < numWindows; i++ {
		r := &ws.rings[i]
		r.advanceTo(fine.cur / widths[i])
		r.current().add(done)
		r.advanceTo(f / widths[i])
	}
	fine.advanceTo(f)
	return true
}

// record counts one call in the current fine bucket.
func (ws *windows) record(bad, slow bool) {
	c := ws.rings[0].current()
	c.total++
	if bad {
		c.bad++
	}
	if slow {
		c.slow++
	}
}

// estimate returns window i's counts at pos (the rings advanced to it).
func (ws *windows) estimate(i int, pos float64) (total, bad, slow float64) {
	var pending counts
	if i > 0 {
		pending = *ws.rings[0].current()
	}
	return ws.rings[i].estimate(pos, pending)
}
