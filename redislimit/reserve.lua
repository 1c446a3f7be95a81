-- Books one request slot for a location, atomically, on Redis's clock.
-- KEYS[1]: the location's log, a sorted set of bookings (µs): a booking's
-- score is its send time until its answer comes, then the answer's time
-- less the margin (see answer.lua), so that the score plus the margin is
-- when the server has counted it, and the log is in that order.
-- KEYS[2]: the location's daily stop, a hash {until, probe} (µs).
-- KEYS[3]: the location's epoch, a hash {id, hold}: id is the time it was
-- created, so that a wipe, a restart without data or an eviction, which
-- remove it with the log, gives the next caller a new id.
-- KEYS[4]: the leases of bookings still waiting, a sorted set of member
-- and expiry (µs); a booking whose lease lapsed (its process died, or
-- gave up on the reply) is dropped, from the log too.
-- ARGV: max, interval, ceiling max, ceiling interval, margin, the longest
-- wait the caller accepts (-1: any), a unique member, the probe lease, the
-- epoch id the caller saw last (0: none), a waiting booking's first lease.
-- Returns {0, wait, probe, epoch}: booked, send in wait µs; probe is 1 when
-- this call is the daily probe; epoch is the id to pass next time.
-- {1, wait}: the slot is past the caller's wait. {2, wait}: the daily
-- budget is spent, try again in wait µs.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local probe = 0
local stop = redis.call('HMGET', KEYS[2], 'until', 'probe')
if stop[1] then
  local untilT = tonumber(stop[1])
  if now < untilT then return {2, untilT - now} end
  local lease = tonumber(stop[2] or '0')
  if now < lease then return {2, lease - now} end
  probe = 1
end

local m, iv = tonumber(ARGV[1]), tonumber(ARGV[2])
local cm, civ = tonumber(ARGV[3]), tonumber(ARGV[4])
local margin, maxWait = tonumber(ARGV[5]), tonumber(ARGV[6])
local keepIv = math.max(iv, civ)

-- A lost log: the caller saw an epoch the location no longer has. The sends
-- it held are still in the API's window, so nothing is booked before a
-- whole window has passed (hold). A process that never saw the old epoch
-- cannot tell a loss from a first use; the first that can sets the hold,
-- from the new epoch's creation, by when the log was surely gone.
-- The hold's slack covers sends still on their way to the API when the log
-- was lost: a tenth of the window, at least the margin.
local slack = math.max(margin, math.floor(keepIv / 10))
local seen = tonumber(ARGV[9])
local ep = redis.call('HMGET', KEYS[3], 'id', 'hold')
local epoch, hold = tonumber(ep[1]), tonumber(ep[2] or '0')
if not epoch then
  epoch, hold = now, 0
  if seen > 0 then hold = now + keepIv + slack end
  redis.call('HSET', KEYS[3], 'id', epoch, 'hold', hold)
elseif seen > 0 and seen ~= epoch and hold == 0 then
  hold = epoch + keepIv + slack
  redis.call('HSET', KEYS[3], 'hold', hold)
end
redis.call('PEXPIRE', KEYS[3], 7 * 86400000)

-- Waiting bookings whose lease lapsed were never sent.
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
for _, m in ipairs(lapsed) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[4], m)
end

-- Bookings counted more than a window ago no longer bear on any booking.
-- (Trimming by rank as well would drop entries that the bookings still
-- waiting are measured from; the window bounds the log anyway.)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - keepIv - margin))
local n = redis.call('ZCARD', KEYS[1])

-- The earliest slot: not before the last booking, and interval plus the
-- margin after the booking max places back, for both budgets.
local at = math.max(now, hold)
if n > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  at = math.max(at, tonumber(last[2]))
end
for _, b in ipairs({{m, iv}, {cm, civ}}) do
  if n >= b[1] then
    local e = redis.call('ZRANGE', KEYS[1], n - b[1], n - b[1], 'WITHSCORES')
    at = math.max(at, tonumber(e[2]) + b[2] + margin)
  end
end
local wait = at - now
if maxWait >= 0 and wait > maxWait then return {1, wait} end

redis.call('ZADD', KEYS[1], at, ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.floor((wait + keepIv + margin) / 1000) + 1000)
if wait > 0 then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[10]), ARGV[7])
  redis.call('PEXPIRE', KEYS[4], math.floor((wait + keepIv + margin) / 1000) + 1000)
end
if probe == 1 then
  redis.call('HSET', KEYS[2], 'probe', now + tonumber(ARGV[8]))
end
return {0, wait, probe, epoch}
