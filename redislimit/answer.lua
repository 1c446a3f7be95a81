-- Moves this process's oldest unanswered sent booking of a location to the
-- time its answer came back, on Redis's clock: by then the server had
-- surely counted the request. KEYS[1] is the location's log; ARGV: the
-- member, the margin (µs). A booking's score is the time by which the
-- server has counted it, less the margin, which reserve.lua adds back: for
-- a booking not yet answered that is its send time, for an answered one
-- the answer's time less the margin. An answer may thus move a booking
-- earlier as well as later. A booking already trimmed away stays gone (XX).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', now - tonumber(ARGV[2]), ARGV[1])
