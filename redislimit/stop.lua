-- Stops a location for the day: KEYS[1] is its daily-stop hash, ARGV[1]
-- how long the stop lasts (µs). The key expires a day after the stop
-- ends, so that a stop nobody probes costs nothing for long, yet the one
-- probe rule holds through any probe's lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local d = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'until', now + d, 'probe', 0)
redis.call('PEXPIRE', KEYS[1], math.floor(d / 1000) + 86400000)
return 1
