-- Stops a location for the day: KEYS[1] is its daily-stop hash, ARGV[1]
-- how long the stop lasts (µs), or -1 for until midnight UTC on Redis's
-- clock (the vendor does not document when its day rolls over). The key expires a day after the stop
-- ends, so that a stop nobody probes costs nothing for long, yet the one
-- probe rule holds through any probe's lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local d = tonumber(ARGV[1])
if d < 0 then
  local day = 86400 * 1000000
  d = day - (now % day)
end
redis.call('HSET', KEYS[1], 'until', now + d, 'probe', 0)
redis.call('PEXPIRE', KEYS[1], math.floor(d / 1000) + 86400000)
return 1
