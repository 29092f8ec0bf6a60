package slo

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is matched, through errors.Is, by every error [New] returns for
// a bad name or objective. The message names the field at fault.
var ErrInvalid = errors.New("slo: invalid configuration")

// Default values of an [Objective]'s zero fields.
const (
	DefaultAvailability  = 0.999               // three nines
	DefaultLatencyTarget = 0.99                // 99% of successful calls within Latency
	DefaultWindow        = 30 * 24 * time.Hour // the SRE workbook's window
)

// MinWindow is the shortest [Objective.Window] [New] accepts. The alert
// windows scale down with it: at one hour, the workbook's 1h window lasts 5s
// and its 5m window 417ms; shorter objectives would shrink them further.
const MinWindow = time.Hour

// Objective is what a [Monitor] holds calls to: a share of calls that must
// succeed and, optionally, a share of successful calls that must be fast,
// over a rolling window. The zero Objective asks for 99.9% availability over
// 30 days and sets no latency objective.
type Objective struct {
	// Availability is the share of recorded calls that must succeed, such as
	// 0.999. Failures, panics and rejections are bad calls. Zero means
	// DefaultAvailability (0.999); otherwise it must lie strictly between 0
	// and 1, since a target of 1 leaves no error budget to burn.
	Availability float64

	// Latency is the threshold of the latency objective: a successful call
	// that takes longer is slow. Zero means no latency objective; it must not
	// be negative.
	Latency time.Duration

	// LatencyTarget is the share of successful calls that must take at most
	// Latency, such as 0.99 for "99% within 300ms". Zero means
	// DefaultLatencyTarget (0.99) when Latency is set; it must be zero when
	// Latency is not, and otherwise lie strictly between 0 and 1.
	LatencyTarget float64

	// Window is the rolling window the objective holds over: the span of the
	// error budget. The alert windows of the SRE workbook (1h, 6h, 1d, 3d and
	// their short windows), given there for 30 days, are scaled in proportion.
	// Zero means DefaultWindow (30 days); otherwise it must be at least
	// MinWindow (one hour). Any longer window, up to the longest Duration, is
	// kept and reported as it is.
	Window time.Duration

	// AlertMinCalls is the number of calls a rule's long window (1h, 6h, 1d
	// or 3d, scaled) must hold before that rule may alert. Zero means no
	// minimum: the workbook's rules as they are, under which one failure in
	// a quiet hour burns fast enough to page. Set it for low-traffic
	// services, whose alerts would otherwise flap; it must not be negative.
	// The call that brings a long window up to the minimum, good or bad,
	// raises the alert it makes due before [Monitor.Record] returns, and
	// [Monitor.Run] reports it on that call's execution.
	AlertMinCalls int
}

// normalize returns o with its defaults filled in, or an error naming the
// first field at fault, which its caller wraps with [ErrInvalid] and what it
// is validating.
func (o Objective) normalize() (Objective, error) {
	if o.Availability == 0 {
		o.Availability = DefaultAvailability
	}
	if !(o.Availability > 0 && o.Availability < 1) {
		return o, fmt.Errorf("Objective.Availability is %v; want a share strictly between 0 and 1, such as 0.999", o.Availability)
	}
	switch {
	case o.Latency < 0:
		return o, fmt.Errorf("Objective.Latency is %v; want a positive threshold, or zero for no latency objective", o.Latency)
	case o.Latency == 0 && o.LatencyTarget != 0:
		return o, fmt.Errorf("Objective.LatencyTarget is %v but Objective.Latency is zero; set the threshold too", o.LatencyTarget)
	case o.Latency > 0 && o.LatencyTarget == 0:
		o.LatencyTarget = DefaultLatencyTarget
	}
	if o.Latency > 0 && !(o.LatencyTarget > 0 && o.LatencyTarget < 1) {
		return o, fmt.Errorf("Objective.LatencyTarget is %v; want a share strictly between 0 and 1, such as 0.99", o.LatencyTarget)
	}
	if o.AlertMinCalls < 0 {
		return o, fmt.Errorf("Objective.AlertMinCalls is %d; want zero for no minimum, or a number of calls", o.AlertMinCalls)
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Window < MinWindow {
		return o, fmt.Errorf("Objective.Window is %v; want at least %v, or zero for %v", formatWindow(o.Window), formatWindow(MinWindow), formatWindow(DefaultWindow))
	}
	return o, nil
}

// Indicator names one of a monitor's service level indicators: each has its
// own target, error budget, burn rates and alert.
type Indicator uint8

// The indicators a [Monitor] measures.
const (
	Availability Indicator = iota // the share of calls that succeed
	Latency                       // the share of successful calls within Objective.Latency
	numIndicators
)

// String returns "availability" or "latency", the objective attribute of the
// gauges.
func (i Indicator) String() string {
	switch i {
	case Availability:
		return "availability"
	case Latency:
		return "latency"
	}
	return "unknown"
}

// MarshalText encodes i as its String, for health endpoints that serve JSON.
func (i Indicator) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// formatWindow writes d the way alerting rules do: "5m", "6h", "1d", "30d",
// "1h24m", rounded to the second.
func formatWindow(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	d = d.Round(time.Second)
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	var b []byte
	for _, u := range [...]struct {
		unit   time.Duration
		suffix byte
	}{{day, 'd'}, {time.Hour, 'h'}, {time.Minute, 'm'}, {time.Second, 's'}} {
		if n := d / u.unit; n > 0 {
			b = fmt.Appendf(b, "%d%c", n, u.suffix)
			d -= n * u.unit
		}
	}
	return string(b)
}
