package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxKeys is the number of keys a [Keyed] limiter remembers when
// [NewKeyed] is given 0.
const DefaultMaxKeys = 10_000

// Keyed keeps one limit per key, such as a tenant or a client address, in
// bounded memory: it remembers at most maxKeys keys (each costs about 100
// bytes and its key's length) and forgets the least recently used one to
// make room for a new key. A forgotten key starts again full; since the key
// least recently used is the one whose limit has had the longest to refill,
// forgetting it lets through at most one burst more than its limit would
// have. A Keyed limiter is safe for concurrent use; a decision takes one
// mutex, for the map and the recency list, and the GCRA's atomic word.
//
// Keys are data: they never appear in telemetry.
type Keyed struct {
	g       gcra
	epoch   time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*keyLimit
	lru  keyLimit // sentinel of the recency list: lru.next is the most recent
}

type keyLimit struct {
	tat        atomic.Int64
	key        string
	prev, next *keyLimit
}

var _ Limiter = (*Keyed)(nil)

// NewKeyed returns a limiter that gives each key a token bucket of rate and
// burst, as [NewTokenBucket] does, and remembers at most maxKeys keys
// ([DefaultMaxKeys] when maxKeys is 0). It fails, with an error matching
// [ErrInvalidConfig], when rate or burst is not positive or maxKeys is
// negative.
func NewKeyed(rate Rate, burst, maxKeys int) (*Keyed, error) {
	b, err := NewTokenBucket(rate, burst)
	if err != nil {
		return nil, err
	}
	if maxKeys < 0 {
		return nil, invalid("max keys %d: must not be negative", maxKeys)
	}
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	k := &Keyed{g: b.g, epoch: b.epoch, maxKeys: maxKeys, keys: make(map[string]*keyLimit)}
	k.lru.prev, k.lru.next = &k.lru, &k.lru
	return k, nil
}

func (k *Keyed) now() int64 { return int64(time.Since(k.epoch)) }

// limit returns key's limit, making it the most recently used, and creating
// it (forgetting the least recently used key if need be) when key is new.
func (k *Keyed) limit(key string) *keyLimit {
	k.mu.Lock()
	l := k.keys[key]
	if l != nil {
		l.prev.next, l.next.prev = l.next, l.prev // unlink
	} else {
		if len(k.keys) >= k.maxKeys {
			old := k.lru.prev
			old.prev.next, k.lru.prev = &k.lru, old.prev
			delete(k.keys, old.key)
		}
		l = &keyLimit{key: key}
		k.keys[key] = l
	}
	l.prev, l.next = &k.lru, k.lru.next
	k.lru.next.prev, k.lru.next = l, l
	k.mu.Unlock()
	return l
}

// Allow takes one permit of key's limit if one is free now, and reports
// whether it did.
func (k *Keyed) Allow(key string) bool { return k.g.allow(&k.limit(key).tat, k.now(), 1) }

// Reserve implements [Limiter] with key's limit.
func (k *Keyed) Reserve(_ context.Context, key string, cost int, maxWait time.Duration) (Reservation, error) {
	return k.g.reserve(&k.limit(key).tat, k.now(), cost, maxWait)
}

// Len returns the number of keys remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}
