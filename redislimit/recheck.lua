-- Checks a booking again when its time has come, and moves it later if the
-- bookings before it have since moved (an answer came back later than the
-- margin assumed). KEYS[1] is the location's log; ARGV: max, interval,
-- ceiling max, ceiling interval, margin, the member. Returns the wait left
-- (µs), 0 to send now, or -1 when the booking is gone.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[6])
if not score then return -1 end
local at = tonumber(score)
local m, iv = tonumber(ARGV[1]), tonumber(ARGV[2])
local cm, civ = tonumber(ARGV[3]), tonumber(ARGV[4])
local margin = tonumber(ARGV[5])
-- Moving later can put other bookings before this one: check again, a
-- bounded number of times.
for _ = 1, 32 do
  local rank = redis.call('ZRANK', KEYS[1], ARGV[6])
  local need = at
  for _, b in ipairs({{m, iv}, {cm, civ}}) do
    if rank >= b[1] then
      local e = redis.call('ZRANGE', KEYS[1], rank - b[1], rank - b[1], 'WITHSCORES')
      need = math.max(need, tonumber(e[2]) + b[2] + margin)
    end
  end
  if need <= at then break end
  at = need
  redis.call('ZADD', KEYS[1], at, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], math.floor((at - now + math.max(iv, civ) + margin) / 1000) + 1000)
end
return math.max(at - now, 0)
