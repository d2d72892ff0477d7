-- Forget consumers of the group (other than this one) that have nothing pending and
-- have not read for ARGV[3] ms: left by crashed or forced-off replicas. Deleting one
-- loses nothing (a live consumer is re-created by its next read).
-- KEYS[1]=source; ARGV: group, consumer, idle ms.
local gone = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] ~= ARGV[2] and info['pending'] == 0
      and info['idle'] >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    gone = gone + 1
  end
end
return gone
