-- Marks a webhook delivery's id done, whoever holds it. A claimed id keeps
-- its claim's expiry; an id without a key gets the ttl.
-- KEYS[1]: the id's key. ARGV[1]: the ttl in milliseconds.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[1], 'done', 'KEEPTTL')
else
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[1])
end
return 1
