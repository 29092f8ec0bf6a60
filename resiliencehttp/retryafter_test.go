package resiliencehttp_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/aragora/resilience/resiliencehttp"
	"github.com/stretchr/testify/assert"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"007", 7 * time.Second, true},
		{"99999999999999999999999", 365 * 24 * time.Hour, true}, // capped, not overflowed
		{"Mon, 30 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Monday, 30-Nov-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Mon Nov 30 12:00:05 2026", 5 * time.Second, true},   // ANSI C
		{"Mon, 30 Nov 2026 11:00:00 GMT", 0, true},            // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"soon", 0, false},
		{"30 Nov 2026", 0, false},
	}
	for _, tc := range cases {
		got, ok := resiliencehttp.ParseRetryAfter(tc.in, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "1.5", "Mon, 30 Nov 2026 12:00:30 GMT", "Monday, 30-Nov-26 12:01:00 GMT",
		"Mon Nov 30 12:00:05 2026", "99999999999999999999", "", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := resiliencehttp.ParseRetryAfter(s, now)
		if !ok {
			if d != 0 {
				t.Fatalf("%q: not ok, but %v", s, d)
			}
			return
		}
		if d < 0 || d > 365*24*time.Hour {
			t.Fatalf("%q: %v out of [0, 1 year]", s, d)
		}
		// A plain number of seconds that fits is read exactly.
		if n, err := strconv.ParseUint(s, 10, 32); err == nil && s[0] != '+' {
			if want := min(time.Duration(n)*time.Second, 365*24*time.Hour); d != want {
				t.Fatalf("%q: %v, want %v", s, d, want)
			}
		}
	})
}
