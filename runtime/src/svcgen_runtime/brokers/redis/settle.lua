-- KEYS[1]=source KEYS[2]=destination stream or delayed set.
-- ARGV: group, consumer, id, mode ('stream' | 'delay'), after_ms, field, value, ...
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[4] == 'delay' then
  local t = redis.call('TIME')
  -- Rounded up to the millisecond, like the delay: the mover's clock is floored.
  local due = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2]) + 999) / 1000)
    + tonumber(ARGV[5])
  local member = {ARGV[3]}
  for i = 6, #ARGV do member[#member + 1] = ARGV[i] end
  member[#member + 1] = 'h:x-svcgen-due'
  member[#member + 1] = string.format('%.3f', due / 1000)
  redis.call('ZADD', KEYS[2], due, cmsgpack.pack(member))
else
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
