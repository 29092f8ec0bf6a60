package redis_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/ratelimit"
	sharedlimit "github.com/aragora/resilience/ratelimit/redis"
)

func ExampleNew() {
	m, _ := miniredis.Run() // stands for the Redis every replica shares
	defer m.Close()
	client := goredis.NewClient(&goredis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()

	// 2 calls a minute for the partner's API, across every replica.
	lim, err := sharedlimit.New("partner-api", client, sharedlimit.Config{
		Rate: ratelimit.Rate{Permits: 2, Per: time.Minute}, Burst: 2, Replicas: 4,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	limit, _ := ratelimit.New("partner-api", lim)
	p := policy.MustNew("partner", limit)

	for i := 1; i <= 3; i++ {
		err := p.Execute(context.Background(), func(context.Context) error { return nil })
		var re *ratelimit.RejectedError
		if errors.As(err, &re) {
			fmt.Printf("call %d: rate limited, retry in about %v\n", i, re.RetryAfter().Round(10*time.Second))
			continue
		}
		fmt.Printf("call %d: %v (decided by %s)\n", i, err, lim.Backend())
	}
	// Output:
	// call 1: <nil> (decided by redis)
	// call 2: <nil> (decided by redis)
	// call 3: rate limited, retry in about 30s
}
