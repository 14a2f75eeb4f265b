-- A node whose share of the free slots is spent takes more from what no node holds.
--
-- KEYS: 1 meta, 2 nodes (as in sync.lua)
-- ARGV: now_ms, node, n (slots wanted), free_est (the free slots as this node sees them,
--       its own admissions included), seq_prev (admissions merged as of its last sync),
--       used (of its grant, already spent)
-- Returns the slots granted (0 .. n).
-- NODE_STALE_MS is defined above this text by state/redis.py, as for sync.lua.
local now = tonumber(ARGV[1])
local node = ARGV[2]
local n = tonumber(ARGV[3])
local free_est = tonumber(ARGV[4])
local seq_prev = tonumber(ARGV[5])
local used = tonumber(ARGV[6])

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local fields = redis.call('HGETALL', KEYS[2])
local values, others, mine = {}, 0, 0
for j = 1, #fields, 2 do values[fields[j]] = fields[j + 1] end
for f, v in pairs(values) do
  if string.sub(f, 1, 2) == 'g:' then
    local id = string.sub(f, 3)
    if id == node then
      mine = tonumber(v)
    elseif tonumber(values['s:' .. id] or '0') >= now - NODE_STALE_MS then
      others = others + tonumber(v)
    end
  end
end
local avail = free_est - (seq - seq_prev) - others - math.max(0, mine - used)
-- Fewer admissions merged than this node saw: the store was re-seeded; its next sync brings a share.
if seq < seq_prev then avail = 0 end
local take = math.max(0, math.min(n, avail))
if take > 0 then redis.call('HSET', KEYS[2], 'g:' .. node, mine + take) end
return take
