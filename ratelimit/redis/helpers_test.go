package redis_test

import (
	"time"

	"github.com/aragora/resilience/breaker"
)

func breakerConfig(cooldown time.Duration) breaker.Config {
	return breaker.Config{FailureThreshold: 2, Cooldown: cooldown, SuccessThreshold: 1}
}
