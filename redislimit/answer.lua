-- Moves this process's oldest unanswered booking of a location to the time
-- its answer came back, on Redis's clock: by then the server had surely
-- counted the request. KEYS[1] is the location's log, ARGV[1] the member.
-- A booking already trimmed away stays gone (XX); one never moves earlier
-- (GT).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', 'GT', now, ARGV[1])
