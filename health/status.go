package health

// Status is how healthy a check, or a whole checker, is. The zero value is
// [Unknown].
type Status uint8

// The statuses, from the least to the most severe failure. A check is Unknown
// until its first run ends; after that it is Healthy while its consecutive
// failures stay below its threshold, and Degraded or Unhealthy from then on
// (see [WithCritical]).
const (
	Unknown   Status = iota // not checked yet
	Healthy                 // working, or failing less often than its threshold allows
	Degraded                // working with reduced capacity or without a non-critical dependency
	Unhealthy               // not working: a critical check has failed its threshold
	numStatuses
)

var statusNames = [numStatuses]string{"unknown", "healthy", "degraded", "unhealthy"}

// String returns "unknown", "healthy", "degraded" or "unhealthy": the value
// of the status attribute in telemetry.
func (s Status) String() string {
	if s >= numStatuses {
		return "invalid"
	}
	return statusNames[s]
}

// MarshalText encodes s as its String, so that a [Report] marshals to
// readable JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// severity orders statuses for combining them: the overall status of a
// checker is the most severe of its checks', where a critical check not yet
// run is worse than a degraded one (nothing is known about something the
// service cannot work without) and better than a failing one (nothing is
// known to be wrong). A non-critical check not yet run does not count in the
// overall status (see Checker.updateOverallLocked).
func (s Status) severity() int {
	switch s {
	case Healthy:
		return 0
	case Degraded:
		return 1
	case Unknown:
		return 2
	default:
		return 3
	}
}

// worse returns the more severe of a and b.
func worse(a, b Status) Status {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// StatusChange is what status-change listeners receive: a check, or the
// checker as a whole, went from one status to another. Check is the name of
// the check whose status changed, or "" when the change is the checker's
// overall status.
type StatusChange struct {
	Checker string // the checker's name
	Check   string // the check's name; "" for the checker's overall status
	From    Status
	To      Status
}
