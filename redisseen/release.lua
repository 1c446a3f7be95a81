-- Drops an attempt's claim of a webhook delivery's id, if the attempt still
-- holds it: never another attempt's claim (one that lapsed and was taken
-- again), and never a done id.
-- KEYS[1]: the id's key. ARGV[1]: the attempt's owner.
if redis.call('GET', KEYS[1]) == 'claim:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
