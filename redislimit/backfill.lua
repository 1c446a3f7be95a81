-- Writes the sends one process made on its fallback, while Redis could not
-- be reached, into a location's log, so that the fleet counts them.
-- KEYS[1]: the location's log. ARGV: the margin and the window kept (µs),
-- then pairs of a member and the send's age (µs), on Redis's clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 3, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now - tonumber(ARGV[i + 1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.floor((tonumber(ARGV[2]) + tonumber(ARGV[1])) / 1000) + 1000)
return 1
