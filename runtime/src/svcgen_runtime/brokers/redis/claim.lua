-- KEYS[1]=source; ARGV: group, consumer, min idle ms, cursor, count.
-- Returns {cursor, entries, times delivered per entry}.
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local counts = {}
for i, e in ipairs(r[2]) do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
  counts[i] = p[1] and p[1][4] or 1
end
return {r[1], r[2], counts}
