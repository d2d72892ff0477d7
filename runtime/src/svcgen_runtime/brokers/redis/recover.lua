-- This consumer's own pending entries that it does not hold (a read cut in flight):
-- claim them to itself again. KEYS[1]=source; ARGV: group, consumer, count, held ids...
local held = {}
for i = 4, #ARGV do held[ARGV[i]] = true end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000, ARGV[2])
local ids = {}
for _, p in ipairs(pending) do
  if not held[p[1]] and #ids < tonumber(ARGV[3]) then ids[#ids + 1] = p[1] end
end
if #ids == 0 then return {{}, {}} end
local entries = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))
local counts = {}
for i, e in ipairs(entries) do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
  counts[i] = p[1] and p[1][4] or 1
end
return {entries, counts}
