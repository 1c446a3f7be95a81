-- Claims a webhook delivery's id for one attempt, unless it is held or done.
-- An id that a failed attempt released ('await') is claimed like a new one;
-- a late delivery (ARGV[3] == '1') may claim only such an id.
-- KEYS[1]: the id's key. ARGV[1]: the attempt's owner. ARGV[2]: the claim's
-- ttl in milliseconds, after which a claim its owner never finished lapses.
-- Returns 1 when claimed, 2 when the id is done, 3 when another holds it,
-- 4 for a late delivery of an id not awaited.
local v = redis.call('GET', KEYS[1])
if v == 'done' then
  return 2
end
if v and v ~= 'await' then
  return 3
end
if not v and ARGV[3] == '1' then
  return 4
end
redis.call('SET', KEYS[1], 'claim:' .. ARGV[1], 'PX', ARGV[2])
return 1
