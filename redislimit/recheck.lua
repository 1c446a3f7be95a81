-- Checks a booking still waiting for its slot, as its process does every
-- third of a lease and when the slot comes: it drops the bookings whose
-- lease lapsed (their process died), books this one again at the earliest
-- slot the bookings before it allow (earlier when some left, later when
-- an answer came back later than the margin assumed), and renews its
-- lease, or ends it when the slot has come and the request goes.
-- KEYS[1]: the location's log; KEYS[2]: its leases. ARGV: max, interval,
-- ceiling max, ceiling interval, margin, the member, the lease (µs).
-- Returns the wait left (µs), 0 to send now, or -1 when the booking is gone.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, m in ipairs(lapsed) do
  if m ~= ARGV[6] then
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZREM', KEYS[2], m)
  end
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[6])
if not score then return -1 end
local at = tonumber(score)
local m, iv = tonumber(ARGV[1]), tonumber(ARGV[2])
local cm, civ = tonumber(ARGV[3]), tonumber(ARGV[4])
local margin = tonumber(ARGV[5])
-- Moving can put other bookings before or after this one: check again, a
-- bounded number of times.
for _ = 1, 32 do
  local rank = redis.call('ZRANK', KEYS[1], ARGV[6])
  local need = now
  if rank > 0 then
    local prev = redis.call('ZRANGE', KEYS[1], rank - 1, rank - 1, 'WITHSCORES')
    need = math.max(need, tonumber(prev[2]))
  end
  for _, b in ipairs({{m, iv}, {cm, civ}}) do
    if rank >= b[1] then
      local e = redis.call('ZRANGE', KEYS[1], rank - b[1], rank - b[1], 'WITHSCORES')
      need = math.max(need, tonumber(e[2]) + b[2] + margin)
    end
  end
  if need == at then break end
  at = need
  redis.call('ZADD', KEYS[1], at, ARGV[6])
end
redis.call('PEXPIRE', KEYS[1], math.floor((math.max(at - now, 0) + math.max(iv, civ) + margin) / 1000) + 1000)
if at <= now then
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', KEYS[2], math.floor((at - now + tonumber(ARGV[7])) / 1000) + 1000)
end
return math.max(at - now, 0)
