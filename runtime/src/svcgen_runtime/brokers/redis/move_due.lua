-- KEYS[1]=source KEYS[2]=delayed set; ARGV[1]=limit. Returns {moved, next due ms or
-- false, server now ms}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[1])
for _, member in ipairs(due) do
  local f = cmsgpack.unpack(member)
  redis.call('XADD', KEYS[1], '*', unpack(f, 2))
  redis.call('ZREM', KEYS[2], member)
end
local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {#due, nxt[2] or false, tostring(now)}
