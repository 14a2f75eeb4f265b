-- One node's sync for one room: merge its batch of counter deltas, read back the
-- totals of every node together, and set its share of the free slots.
--
-- KEYS: 1 meta (seq of admissions merged), 2 act (expiry second -> sessions),
--       3 flow (a<s> admitted, o<s> admitted while others waited, q<s> queue open),
--       4 pace (GCRA theoretical arrival time, µs), 5 nodes (t:/g:/s:/k: per node),
--       6.. the ring of refresh-bucket hashes (pos second -> users, "b" bucket, "n" total)
-- ARGV: now_ms, node, batch_id, traffic, want, free_est, seq_prev, seed, confirmed (the last batch
--       of this room the node had an answer for; 0: do not check), n_act, (expiry_s, n) * n_act, n_wait, (pos_s, bucket, n) * n_wait,
--       admitted, admitted_open, queue_open, pace_us, n_at, (second, admitted) * n_at (the admissions
--       by the second they were made in; what they leave out counts in the sync's second),
--       [seed only] n_seed_act, (expiry_s, n) *, n_seed_present, (pos_s, bucket, n) *, seed_adm_minute, seed_pace,
--       seed_seq, n_seed_nodes, (node, batch) * (the last batch of each node the seeded totals hold)
-- Returns {status, seq, grant, traffic_total, active, n_act, (s, n)*, waiting, present,
--          n_present, (pos_s, bucket, n)*, adm_minute, open_seconds, admitted_open, pace_tat,
--          n_minute, (s, admitted)* of the cap's window, for the node to age adm_minute between syncs,
--          n_nodes, (node, batch)* the last batch merged of each node}
-- status: 1 merged; 0 the store is empty and this node must re-seed it; {2, applied} the store was
-- re-seeded without batches this node had an answer for, after ``applied``: it must resend them
-- (nothing merged in either case).

-- REFRESH_MS, HOLD_MS, PRESENT_MS, OUTFLOW_S, CAP_WINDOW_S, NODE_STALE_MS, NODE_GONE_MS and
-- META_TTL_MS are defined above this text by state/redis.py (from core/types.py and there).

local now = tonumber(ARGV[1])
local node = ARGV[2]
local batch = tonumber(ARGV[3])
local traffic = tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local free_est = tonumber(ARGV[6])
local seq_prev = tonumber(ARGV[7])
local seed = tonumber(ARGV[8])
local confirmed = tonumber(ARGV[9])
local now_s = math.floor(now / 1000)
local ring = #KEYS - 5

local function fmt(x) return string.format('%.0f', x) end
local function drop_time(b) return (b + 1) * REFRESH_MS + HOLD_MS end
local function slot(b) return KEYS[6 + (b % ring)] end

local fresh = redis.call('EXISTS', KEYS[1]) == 0
if fresh and seed == 0 then
  return {0}
end

local function add_active(s, n)
  if s < now_s then return end
  local v = redis.call('HINCRBY', KEYS[2], s, n)
  if v <= 0 then redis.call('HDEL', KEYS[2], s) end
end

local function add_waiting(pos, b, n)
  if drop_time(b) <= now then return end
  local key = slot(b)
  local held = tonumber(redis.call('HGET', key, 'b'))
  if n > 0 then
    if held ~= b then
      redis.call('DEL', key)
      redis.call('HSET', key, 'b', b)
      redis.call('PEXPIRE', key, drop_time(b) - now)
    end
    redis.call('HINCRBY', key, pos, n)
    redis.call('HINCRBY', key, 'n', n)
  elseif held == b then
    -- Never below zero: a place already dropped or moved (a repeat) takes nobody out.
    local cur = tonumber(redis.call('HGET', key, pos) or '0')
    local take = math.min(-n, cur)
    if take > 0 then
      if cur == take then redis.call('HDEL', key, pos) else redis.call('HINCRBY', key, pos, -take) end
      redis.call('HINCRBY', key, 'n', -take)
    end
  end
end

local i = 10
local seq_before = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local applied = tonumber(redis.call('HGET', KEYS[5], 'k:' .. node) or '0')
if not fresh and confirmed > applied then
  -- Another node re-seeded the store from a view older than this node's last answer.
  return {2, applied}
end
local merge = batch > applied

-- The batch's moves are applied after a seed (below): a move out of a session or a place the
-- seed brings back (a renewal, a queued visitor let in) must find it there.
local n_act = tonumber(ARGV[i]); local act_at = i + 1; i = act_at + 2 * n_act
local n_wait = tonumber(ARGV[i]); local wait_at = i + 1; i = wait_at + 3 * n_wait
local admitted = tonumber(ARGV[i])
local admitted_open = tonumber(ARGV[i + 1])
local queue_open = tonumber(ARGV[i + 2])
local pace_us = tonumber(ARGV[i + 3])
i = i + 4
local n_at = tonumber(ARGV[i]); i = i + 1
local admitted_at = {}
for _ = 1, n_at do
  admitted_at[#admitted_at + 1] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])}
  i = i + 2
end

if fresh then
  -- The store is new or came back empty: this node re-seeds it from what it knew.
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do add_active(tonumber(ARGV[i]), tonumber(ARGV[i + 1])); i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do add_waiting(tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])); i = i + 3 end
  local adm = tonumber(ARGV[i])
  if adm > 0 then redis.call('HINCRBY', KEYS[3], 'a' .. now_s, adm) end
  local tat = tonumber(ARGV[i + 1])
  if tat > 0 then redis.call('SET', KEYS[4], fmt(tat)) end
  seq_before = tonumber(ARGV[i + 2])
  redis.call('HSET', KEYS[1], 'seq', seq_before)
  -- Which batches the seeded totals hold: a node resending one of them (its answer was lost)
  -- must not have it merged twice, and one whose later batches they lack is told so.
  n = tonumber(ARGV[i + 3]); i = i + 4
  for _ = 1, n do
    if ARGV[i] ~= node then redis.call('HSET', KEYS[5], 'k:' .. ARGV[i], ARGV[i + 1]) end
    i = i + 2
  end
end

if merge then
  for j = act_at, act_at + 2 * (n_act - 1), 2 do add_active(tonumber(ARGV[j]), tonumber(ARGV[j + 1])) end
  for j = wait_at, wait_at + 3 * (n_wait - 1), 3 do
    add_waiting(tonumber(ARGV[j]), tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]))
  end
  if admitted > 0 then
    -- Each admission in the second it was made, so that it leaves the minute cap's window on time.
    local rest = admitted
    for _, pair in ipairs(admitted_at) do
      local s = math.min(pair[1], now_s)
      if s > now_s - OUTFLOW_S then redis.call('HINCRBY', KEYS[3], 'a' .. s, pair[2]) end
      rest = rest - pair[2]
    end
    if rest > 0 then redis.call('HINCRBY', KEYS[3], 'a' .. now_s, rest) end
    redis.call('HINCRBY', KEYS[1], 'seq', admitted)
  end
  if admitted_open > 0 then redis.call('HINCRBY', KEYS[3], 'o' .. now_s, admitted_open) end
  if queue_open > 0 then redis.call('HSET', KEYS[3], 'q' .. now_s, 1) end
  if pace_us > 0 then
    local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
    tat = math.max(tat, now * 1000) + pace_us
    redis.call('SET', KEYS[4], fmt(tat))
  end
  redis.call('HSET', KEYS[5], 'k:' .. node, batch)
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')

-- The nodes: forget those that stopped syncing, sum the others' traffic and grants.
local others_traffic, others_grant = 0, 0
local fields = redis.call('HGETALL', KEYS[5])
local seen, gone = {}, {}
for j = 1, #fields, 2 do
  local f = fields[j]
  if string.sub(f, 1, 2) == 's:' then seen[string.sub(f, 3)] = tonumber(fields[j + 1]) end
end
local values = {}
for j = 1, #fields, 2 do values[fields[j]] = fields[j + 1] end
for id, at in pairs(seen) do
  if id ~= node then
    if at < now - NODE_GONE_MS then
      redis.call('HDEL', KEYS[5], 't:' .. id, 'g:' .. id, 's:' .. id, 'k:' .. id)
      gone[id] = true
    elseif at < now - NODE_STALE_MS then
      -- A node silent for a few seconds holds no share any more, but its last batch id stays:
      -- batches it sent while Redis hung may still arrive, and each must be merged once only.
      redis.call('HDEL', KEYS[5], 't:' .. id, 'g:' .. id)
    else
      others_traffic = others_traffic + tonumber(values['t:' .. id] or '0')
      others_grant = others_grant + tonumber(values['g:' .. id] or '0')
    end
  end
end
-- free_est counts this node's own admissions; the others' merged since its last sync
-- and what they hold unspent are not free.
local avail = free_est - (seq_before - seq_prev) - others_grant
-- The store has fewer admissions than this node saw (re-seeded from an older view): how many the
-- others made since is unknown, so no share this time; this reply brings the node up to date.
if seq_before < seq_prev then avail = 0 end
local grant = math.max(0, math.min(want, avail))
redis.call('HSET', KEYS[5], 't:' .. node, traffic, 'g:' .. node, grant, 's:' .. node, now)

-- Read back: active sessions by expiry second.
local out = {1, seq, grant, others_traffic + traffic}
local act = redis.call('HGETALL', KEYS[2])
local active, pairs_out, max_s = 0, {}, 0
for j = 1, #act, 2 do
  local s, n = tonumber(act[j]), tonumber(act[j + 1])
  if s < now_s then
    redis.call('HDEL', KEYS[2], act[j])
  else
    active = active + n
    pairs_out[#pairs_out + 1] = s
    pairs_out[#pairs_out + 1] = n
    if s > max_s then max_s = s end
  end
end
if max_s > 0 then redis.call('PEXPIRE', KEYS[2], (max_s + 1) * 1000 - now + 1000) end
out[#out + 1] = active
out[#out + 1] = #pairs_out / 2
for j = 1, #pairs_out do out[#out + 1] = pairs_out[j] end

-- Waiting users: everyone holding a place, and present users by place second.
local present_from = math.floor((now - PRESENT_MS) / REFRESH_MS)
local waiting, present, rows = 0, 0, {}
for r = 6, #KEYS do
  local b = tonumber(redis.call('HGET', KEYS[r], 'b'))
  if b ~= nil then
    if drop_time(b) <= now then
      redis.call('DEL', KEYS[r])
    else
      local n = tonumber(redis.call('HGET', KEYS[r], 'n') or '0')
      waiting = waiting + n
      if b >= present_from and n > 0 then
        present = present + n
        local row = redis.call('HGETALL', KEYS[r])
        for j = 1, #row, 2 do
          local f = row[j]
          local c = tonumber(row[j + 1])
          if f ~= 'b' and f ~= 'n' and c > 0 then
            rows[#rows + 1] = tonumber(f)
            rows[#rows + 1] = b
            rows[#rows + 1] = c
          end
        end
      end
    end
  end
end
out[#out + 1] = waiting
out[#out + 1] = present
-- Present places by (second, refresh bucket): the node sums them; a re-seed puts them back as they were.
out[#out + 1] = #rows / 3
for j = 1, #rows do out[#out + 1] = rows[j] end

-- Admission history: the minute cap's whole seconds (CAP_WINDOW_S), and the outflow window.
local flow = redis.call('HGETALL', KEYS[3])
local adm_minute, open_seconds, adm_open = 0, 0, 0
local minute_rows = {}
for j = 1, #flow, 2 do
  local f = flow[j]
  local s = tonumber(string.sub(f, 2))
  if s <= now_s - OUTFLOW_S then
    redis.call('HDEL', KEYS[3], f)
  else
    local kind = string.sub(f, 1, 1)
    local n = tonumber(flow[j + 1])
    if kind == 'a' and s > now_s - CAP_WINDOW_S then
      adm_minute = adm_minute + n
      minute_rows[#minute_rows + 1] = s
      minute_rows[#minute_rows + 1] = n
    elseif kind == 'o' then
      adm_open = adm_open + n
    elseif kind == 'q' then
      open_seconds = open_seconds + 1
    end
  end
end
redis.call('PEXPIRE', KEYS[3], (OUTFLOW_S + 5) * 1000)
local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
if tat > 0 then redis.call('PEXPIRE', KEYS[4], math.max(1000, math.floor(tat / 1000) - now + 60000)) end
redis.call('PEXPIRE', KEYS[1], META_TTL_MS)
redis.call('PEXPIRE', KEYS[5], META_TTL_MS)
out[#out + 1] = adm_minute
out[#out + 1] = open_seconds
out[#out + 1] = adm_open
out[#out + 1] = fmt(tat)
out[#out + 1] = #minute_rows / 2
for j = 1, #minute_rows do out[#out + 1] = minute_rows[j] end
-- Each node's last merged batch, for a re-seed from this view to carry.
local batches = {}
for f, v in pairs(values) do
  if string.sub(f, 1, 2) == 'k:' and not gone[string.sub(f, 3)] then
    batches[#batches + 1] = string.sub(f, 3)
    batches[#batches + 1] = tonumber(v)
  end
end
out[#out + 1] = #batches / 2
for j = 1, #batches do out[#out + 1] = batches[j] end
return out
