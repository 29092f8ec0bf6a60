package durfmt_test

import (
	"testing"
	"time"

	"github.com/aragora/resilience/internal/durfmt"
	"github.com/stretchr/testify/assert"
)

func TestRoundKeepsWhatAPersonReads(t *testing.T) {
	for in, want := range map[time.Duration]string{
		29999995431 * time.Nanosecond:            "30s",
		1499999999 * time.Nanosecond:             "1.5s",
		1234567891 * time.Nanosecond:             "1.23s",
		347123456 * time.Nanosecond:              "347ms",
		250 * time.Millisecond:                   "250ms",
		12345678 * time.Nanosecond:               "12.3ms",
		1234567 * time.Nanosecond:                "1.23ms",
		123456 * time.Nanosecond:                 "123µs",
		1500 * time.Nanosecond:                   "1.5µs",
		-30000000001 * time.Nanosecond:           "-30s",
		12*time.Minute + 345678*time.Microsecond: "12m0s",
		0:                                        "0s",
	} {
		assert.Equal(t, want, durfmt.Round(in).String(), "Round(%d)", int64(in))
	}
}
