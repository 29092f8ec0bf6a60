// Package throttle refuses calls locally when the backend is already
// refusing them: client-side adaptive throttling, from chapter 21 of Google's
// "Site Reliability Engineering" ("Handling Overload").
//
// A backend that is overloaded still spends work on every call it refuses.
// When each client keeps sending at full rate, the refusals themselves keep
// the backend overloaded. A [Throttle] counts, over a sliding window, the
// calls it was asked to make (requests) and the calls the backend accepted
// (accepts), and refuses a new call with probability
//
//	max(0, (requests − K·accepts) / (requests + 1))
//
// So while the backend accepts everything, nothing is refused; once it
// accepts less than 1/K of the calls, the client sends about K times what
// the backend accepts, and the rest fail at once, locally, costing the
// backend nothing. K (Config.K, 2 by default) sets how much more than the
// accepted traffic is still sent: the margin that lets the client see the
// backend recover. When the backend recovers, the old counts leave the
// window, a twentieth of it at a time, and within one window the throttle
// refuses nothing.
//
//	thr, _ := throttle.New("search-backend", throttle.Config{}, throttle.WithRejected(isOverload))
//	p := policy.MustNew("search", retryPolicy, thr, tmo)
//
// Refused calls fail with a [*RejectedError], which matches [ErrThrottled]
// and [policy.ErrRejected], and are reported as throttle.rejected events
// (reason "adaptive"). [WithRejected] says which errors mean that the
// backend refused a call (an HTTP 429 or 503); by default every error does.
//
// Place the throttle inside a retry, so that each attempt counts and a
// retry of a locally refused call is itself throttled; a retry policy that
// does not retry [policy.ErrRejected] then stops at once.
//
// After a total outage, the throttle lets through about one call in every
// requests+1 of the window, and opens again over a few windows as those
// calls succeed: each window about doubles what it sends.
//
// A health.Checker's RegisterThrottle, given a throttle's
// [Throttle.RejectionProbability], makes a health check of it, failing while
// it refuses more than a given share of calls.
package throttle
