package resiliencegrpc

import (
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"
)

// maxPushback bounds what ParsePushback returns, so that a huge value never
// overflows a time.Duration.
const maxPushback = 365 * 24 * time.Hour

// ParsePushback reads the pushback of a trailer, as gRFC A6 defines it: a
// non-negative number of milliseconds is how long to wait before the next
// attempt; a negative or malformed value, or more than one, means "do not
// retry", returned as -1. ok is false when the trailer has no pushback.
func ParsePushback(trailer metadata.MD) (d time.Duration, ok bool) {
	vals := trailer.Get(PushbackKey)
	switch len(vals) {
	case 0:
		return 0, false
	case 1:
	default:
		return -1, true
	}
	v := vals[0]
	if v == "" {
		return -1, true
	}
	const limit = int64(maxPushback / time.Millisecond)
	var ms int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1, true // a sign, a fraction or garbage
		}
		ms = min(ms*10+int64(c-'0'), limit)
	}
	return time.Duration(ms) * time.Millisecond, true
}

// formatPushback returns d as a pushback value: whole milliseconds, rounded
// up.
func formatPushback(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}
