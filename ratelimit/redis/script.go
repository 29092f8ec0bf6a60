package redis

import goredis "github.com/redis/go-redis/v9"

// gcraScript takes cost permits of the limit stored at KEYS[1], or says when
// they will be free, in one atomic step on the server's clock, so that
// replicas whose clocks disagree still share one limit. The limit is one
// value, its theoretical arrival time (TAT) in microseconds of the server's
// clock: the time at which the limit is full again. The key expires then, so
// an idle limit costs nothing.
//
// ARGV: interval (µs per permit), capacity (µs: burst × interval), cost,
// max wait (µs). It returns {admitted (1 or 0), wait or retry-after (µs),
// remaining permits}.
//
// Numbers in Lua are doubles: microseconds since 1970 (about 1.8e15) stay
// exact below 2^53.
var gcraScript = goredis.NewScript(`
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local maxwait = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + cost * interval
local over = nxt - now - capacity
if over > maxwait then
  return {0, math.ceil(over), math.floor((capacity - (tat - now)) / interval)}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
if over < 0 then over = 0 end
return {1, math.ceil(over), math.floor((capacity - (nxt - now)) / interval)}
`)
