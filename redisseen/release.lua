-- Drops an attempt's claim of a webhook delivery's id, if the attempt still
-- holds it: never another attempt's claim (one that lapsed and was taken
-- again), and never a done id. The id is then awaited for the wait, so that
-- a late redelivery may claim it; with no wait it is deleted.
-- KEYS[1]: the id's key. ARGV[1]: the attempt's owner. ARGV[2]: the wait in
-- milliseconds, 0 for none.
if redis.call('GET', KEYS[1]) ~= 'claim:' .. ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], 'await', 'PX', ARGV[2])
  return 1
end
return redis.call('DEL', KEYS[1])
