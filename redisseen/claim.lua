-- Claims a webhook delivery's id for one attempt, unless it is held or done.
-- KEYS[1]: the id's key. ARGV[1]: the attempt's owner. ARGV[2]: the claim's
-- ttl in milliseconds, after which a claim its owner never finished lapses.
-- Returns 1 when claimed, 2 when the id is done, 3 when another holds it.
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'claim:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'done' then
  return 2
end
return 3
