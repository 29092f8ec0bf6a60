package resiliencehttp

import (
	"net/http"
	"strconv"
	"time"
)

// maxRetryAfter bounds what ParseRetryAfter returns, so that a huge value
// never overflows a time.Duration: a retry policy caps it far lower anyway.
const maxRetryAfter = 365 * 24 * time.Hour

// ParseRetryAfter parses the value of a Retry-After header (RFC 9110, section
// 10.2.3): a number of seconds, such as "120", or an HTTP-date, such as
// "Fri, 31 Dec 1999 23:59:59 GMT", read relative to now. A date in the past
// gives 0. Values are capped at a year. ok is false for anything else: a
// negative or fractional number, a malformed date, an empty value.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	if value == "" {
		return 0, false
	}
	if c := value[0]; c >= '0' && c <= '9' {
		const limit = int64(maxRetryAfter / time.Second)
		var secs int64
		for i := 0; i < len(value); i++ {
			c := value[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			secs = min(secs*10+int64(c-'0'), limit) // stays far from overflowing
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// formatRetryAfter returns d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func formatRetryAfter(d time.Duration) string {
	secs := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(max(secs, 1)), 10)
}
