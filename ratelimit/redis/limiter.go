package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/ratelimit"
)

// Mode says what a [Limiter] does while Redis cannot answer.
type Mode uint8

const (
	// FailLocal decides with a token bucket of this process, at the rate
	// and burst divided by Config.Replicas, so that the replicas together
	// keep about the shared limit. It is the default.
	FailLocal Mode = iota
	// FailOpen admits every call: the limit is lifted while Redis is down.
	FailOpen
	// FailClosed refuses every call, with a RetryAfter of the time until
	// the breaker tries Redis again.
	FailClosed
)

// The backends that decide, in the backend attribute of the
// resilience.ratelimit.backend gauge and the From and To of the
// ratelimit.backend_change event.
const (
	BackendRedis      = "redis"       // Redis decides
	BackendLocal      = "local"       // Redis is down, FailLocal: a local bucket decides
	BackendFailOpen   = "fail_open"   // Redis is down, FailOpen: every call is admitted
	BackendFailClosed = "fail_closed" // Redis is down, FailClosed: every call is refused
)

// Config sizes a [Limiter]. Rate and Burst are required; every other zero
// field has the default its comment gives.
type Config struct {
	Rate  ratelimit.Rate // the limit's permits per period, shared by every replica
	Burst int            // the most permits taken at once

	// Prefix is prepended to each key in Redis. Zero means
	// "resilience:ratelimit:" and the limiter's name and a colon.
	Prefix string

	// Timeout bounds each Redis round trip; past it, the decision is the
	// Mode's, and the breaker counts a failure. Zero means 100ms.
	Timeout time.Duration

	// Mode is what the limiter does while Redis cannot answer. Zero means
	// FailLocal.
	Mode Mode

	// Replicas is the number of processes expected to share the limit:
	// under FailLocal each keeps Rate and Burst divided by it (a burst of
	// at least 1; a call costing more than the local burst takes the local
	// burst). Zero means 1.
	Replicas int

	// Breaker guards the Redis calls: once it opens, the limiter stops
	// asking Redis until its cooldown passes, and returns to Redis when a
	// trial call succeeds. Zero fields mean: open after 3 consecutive
	// failures, a cooldown of 5s, close after 1 successful trial.
	Breaker breaker.Config
}

// ErrInvalidConfig is matched by the error [New] returns for a [Config] it
// cannot use, as the root package's ratelimit.ErrInvalidConfig is.
var ErrInvalidConfig = ratelimit.ErrInvalidConfig

// Limiter is a rate limit shared by every replica that uses the same Redis
// and key: GCRA in one Lua script, one round trip per decision, on the
// server's clock. It implements [ratelimit.Limiter], so that
// ratelimit.New makes it a policy. It is safe for concurrent use.
type Limiter struct {
	name       string
	client     goredis.Scripter
	cfg        Config
	prefix     string
	interval   float64 // µs per permit
	capacity   float64 // µs: burst × interval
	maxCost    int
	brk        *breaker.Breaker
	local      *ratelimit.Keyed // FailLocal's
	localBurst int
	backend    atomic.Pointer[string]
	// direct: the client bounds its round trips by the context's deadline
	// itself (a *redis.Client with ContextTimeoutEnabled), so ask needs no
	// goroutine of its own.
	direct bool
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a limiter named name that keeps its limits in Redis through
// client (a *redis.Client, ClusterClient, Ring or any other Scripter). The
// name labels its telemetry and its breaker's, so it should come from code.
// New fails, with an error matching [ErrInvalidConfig], when name is empty,
// client is nil or cfg cannot be used.
func New(name string, client goredis.Scripter, cfg Config, opts ...Option) (*Limiter, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: name is empty", ErrInvalidConfig)
	}
	if client == nil {
		return nil, fmt.Errorf("%w: the Redis client of %q is nil", ErrInvalidConfig, name)
	}
	cfg, err := cfg.normalize(name)
	if err != nil {
		return nil, err
	}
	// The local bucket's size checks Rate and Burst as the root package does.
	per := time.Duration(min(int64(cfg.Rate.Per)*int64(cfg.Replicas), math.MaxInt64/2))
	localBurst := max(cfg.Burst/cfg.Replicas, 1)
	local, err := ratelimit.NewKeyed(ratelimit.Rate{Permits: cfg.Rate.Permits, Per: per}, localBurst, 0)
	if err != nil {
		return nil, err
	}
	if _, err := ratelimit.NewTokenBucket(cfg.Rate, cfg.Burst); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	var bopts []breaker.Option
	if o.mp != nil {
		bopts = append(bopts, breaker.WithMeterProvider(o.mp))
	}
	brk, err := breaker.New(name+".redis", cfg.Breaker, bopts...)
	if err != nil {
		return nil, err
	}
	iv := float64(cfg.Rate.Per.Nanoseconds()) / float64(cfg.Rate.Permits) / 1e3
	l := &Limiter{
		name:       name,
		client:     client,
		cfg:        cfg,
		prefix:     cfg.Prefix,
		interval:   iv,
		capacity:   iv * float64(cfg.Burst),
		maxCost:    cfg.Burst,
		brk:        brk,
		local:      local,
		localBurst: localBurst,
	}
	if c, ok := client.(interface{ Options() *goredis.Options }); ok {
		l.direct = c.Options().ContextTimeoutEnabled
	}
	redisName := BackendRedis
	l.backend.Store(&redisName)
	registerGauge(l, o.meterProvider())
	return l, nil
}

func (c Config) normalize(name string) (Config, error) {
	if c.Prefix == "" {
		c.Prefix = "resilience:ratelimit:" + name + ":"
	}
	if c.Timeout == 0 {
		c.Timeout = 100 * time.Millisecond
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Breaker.FailureThreshold == 0 && c.Breaker.Window == nil {
		c.Breaker.FailureThreshold = 3
	}
	if c.Breaker.Cooldown == 0 {
		c.Breaker.Cooldown = 5 * time.Second
	}
	if c.Breaker.SuccessThreshold == 0 {
		c.Breaker.SuccessThreshold = 1
	}
	switch {
	case c.Timeout < 0:
		return c, fmt.Errorf("%w: Timeout is %v, must not be negative", ErrInvalidConfig, c.Timeout)
	case c.Replicas < 0:
		return c, fmt.Errorf("%w: Replicas is %d, must not be negative", ErrInvalidConfig, c.Replicas)
	case c.Mode > FailClosed:
		return c, fmt.Errorf("%w: Mode %d is not one of FailLocal, FailOpen, FailClosed", ErrInvalidConfig, c.Mode)
	case c.Rate.Permits > 0 && c.Rate.Per > 0 && float64(c.Rate.Per.Nanoseconds())/float64(c.Rate.Permits) < 1e3:
		return c, fmt.Errorf("%w: rate %d per %v is above one permit per microsecond, the resolution of the server's clock", ErrInvalidConfig, c.Rate.Permits, c.Rate.Per)
	}
	return c, nil
}

// Name returns the limiter's name.
func (l *Limiter) Name() string { return l.name }

// Backend returns the backend deciding now: [BackendRedis], or the Mode's
// while Redis is down.
func (l *Limiter) Backend() string { return *l.backend.Load() }

// Reserve implements [ratelimit.Limiter]. It asks Redis, through the
// breaker and within Config.Timeout, for cost permits of key's limit; while
// Redis cannot answer, the Mode decides. The Reservation's Backend says who
// decided. A cost above the burst fails with [ratelimit.ErrCostAboveBurst];
// a caller whose context is done gets its error. Reserve never returns an
// error for Redis being down: that is what the Mode is for.
func (l *Limiter) Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (ratelimit.Reservation, error) {
	if cost > l.maxCost {
		return ratelimit.Reservation{}, ratelimit.ErrCostAboveBurst
	}
	cost = max(cost, 1)
	permit, err := l.brk.Allow()
	if err != nil {
		return l.degraded(key, cost, maxWait, err), nil
	}
	res, rerr := l.ask(ctx, key, cost, maxWait)
	if rerr == nil {
		permit.Done(nil)
		res.Backend = l.use(BackendRedis)
		return res, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		permit.Done(context.Canceled) // the caller gave up: not Redis's failure
		return ratelimit.Reservation{}, cerr
	}
	permit.Done(rerr)
	otel.Handle(fmt.Errorf("ratelimit/redis: limiter %q: %w", l.name, rerr))
	return l.degraded(key, cost, maxWait, nil), nil
}

// errTimeout is the error of a round trip that took longer than
// Config.Timeout.
var errTimeout = errors.New("ratelimit/redis: no answer within the timeout")

// reply is the script's answer, or the error of the round trip.
type reply struct {
	v   []int64
	err error
}

// ask runs the script, and waits for its answer no longer than
// Config.Timeout. A client that bounds its round trips by the context's
// deadline (a *redis.Client with ContextTimeoutEnabled) is called directly.
// Any other runs the round trip on a goroutine of its own, so that the bound
// holds whatever the client does with the deadline (a go-redis client
// without ContextTimeoutEnabled waits for its own ReadTimeout, 3s by
// default); a round trip abandoned at the timeout ends when the client gives
// up on it.
func (l *Limiter) ask(ctx context.Context, key string, cost int, maxWait time.Duration) (ratelimit.Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	var r reply
	if l.direct {
		r = l.run(ctx, key, cost, maxWait)
		if r.err != nil && ctx.Err() != nil {
			r.err = errTimeout
		}
	} else {
		ch := make(chan reply, 1)
		go func() { ch <- l.run(ctx, key, cost, maxWait) }()
		select {
		case r = <-ch:
		case <-ctx.Done():
			return ratelimit.Reservation{}, errTimeout
		}
	}
	if r.err != nil {
		return ratelimit.Reservation{}, r.err
	}
	if len(r.v) != 3 {
		return ratelimit.Reservation{}, fmt.Errorf("ratelimit/redis: unexpected reply of %d values", len(r.v))
	}
	d := time.Duration(r.v[1]) * time.Microsecond
	if r.v[0] == 1 {
		return ratelimit.Reservation{OK: true, Wait: d, Remaining: int(max(r.v[2], 0))}, nil
	}
	return ratelimit.Reservation{RetryAfter: d, Remaining: int(max(r.v[2], 0))}, nil
}

// run is one round trip of the script.
func (l *Limiter) run(ctx context.Context, key string, cost int, maxWait time.Duration) reply {
	v, err := gcraScript.Run(ctx, l.client, []string{l.prefix + key},
		l.interval, l.capacity, cost, float64(max(maxWait, 0).Microseconds())).Int64Slice()
	return reply{v, err}
}

// degraded decides while Redis cannot answer: the breaker refused with
// open, or (open nil) the call failed.
func (l *Limiter) degraded(key string, cost int, maxWait time.Duration, open error) ratelimit.Reservation {
	switch l.cfg.Mode {
	case FailOpen:
		return ratelimit.Reservation{OK: true, Backend: l.use(BackendFailOpen)}
	case FailClosed:
		return ratelimit.Reservation{RetryAfter: l.untilTrial(open), Backend: l.use(BackendFailClosed)}
	}
	res, err := l.local.Reserve(context.Background(), key, min(cost, l.localBurst), maxWait)
	if err != nil { // cannot happen: the cost is capped at the burst
		res = ratelimit.Reservation{RetryAfter: l.untilTrial(open)}
	}
	res.Backend = l.use(BackendLocal)
	return res
}

// untilTrial returns the time until the breaker lets a call try Redis again:
// the open breaker's retry-after, or the time to its next trial, or else the
// timeout.
func (l *Limiter) untilTrial(open error) time.Duration {
	var oe *breaker.OpenError
	if errors.As(open, &oe) && oe.RetryAfter() > 0 {
		return oe.RetryAfter()
	}
	if next := l.brk.Status().NextTrial; !next.IsZero() {
		if d := time.Until(next); d > 0 {
			return d
		}
	}
	return l.cfg.Timeout
}

// use records that backend decided, and returns it.
func (l *Limiter) use(backend string) string {
	if cur := l.backend.Load(); *cur != backend {
		l.backend.CompareAndSwap(cur, &backend)
	}
	return backend
}
