// The Lua scripts the Redis store runs atomically; each touches only the keys it is given (cluster-safe).
import { MEMBER_JOIN } from './keys.ts';

/** MEMBER_JOIN as a Lua string literal. */
const JOIN = `'\\${MEMBER_JOIN.charCodeAt(0)}'`;

/**
 * The window tree (shared/features/windows.ts, step for step: the same doubles) over a customer's history zset
 * `history` and its node hash `tree` (field `level:index` = the node's moments as seven little-endian doubles, field
 * `cfg` = the leaf width and top level it was built for). The tree is kept only while the history holds more than
 * TREE_FROM members: below that, summaries read the members themselves (the same doubles, fewer bytes kept).
 * `spec` is 'leafMs top treeFrom'. Defines keep(changed leaves) after the history changed, and summary(t, retention,
 * windows): the prior of an event at t.
 */
const WINDOW_TREE = `
local LEAF, TOP, TREE_FROM = string.match(spec, '^(%S+) (%S+) (%S+)$')
LEAF, TOP, TREE_FROM = tonumber(LEAF), tonumber(TOP), tonumber(TREE_FROM)
local CFG = string.format('%d %d', LEAF, TOP)
-- scores as Redis reads them back exactly: integers (event times in ms) by the cheap %d, others by %.17g (slow)
local function fmt(x)
  if x == math.floor(x) and x < 2^53 and x > -2^53 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
local function name(level, idx) return string.format('%d:%d', level, idx) end
local function layout(m)
  error({err = 'ERR a history member is not in the layout this version writes: ' .. m})
end
local function valueOf(m)
  local v = tonumber(string.match(m, '^[^\\1]*\\1[^\\1]*\\1[^\\1]*\\1([^\\1]*)$') or '')
  if v == nil then layout(m) end
  return v
end
local function timeOf(m)
  local v = tonumber(string.match(m, '^[^\\1]*\\1[^\\1]*\\1([^\\1]*)\\1[^\\1]*$') or '')
  if v == nil then layout(m) end
  return v
end
local function pack(m) return struct.pack('<ddddddd', m[1], m[2], m[3], m[4], m[5], m[6], m[7]) end
local function unpackNode(s)
  if not s then return nil end
  local a, b, c, d, e, f, g = struct.unpack('<ddddddd', s)
  return {a, b, c, d, e, f, g}
end
-- Welford over members, in order, onto m: {count, sum, mean, m2, min, max, last}; nil stays nil without members
local function moments(members)
  local c, s, mean, m2, mn, mx, last = 0, 0, 0, 0, 0, 0, 0
  for i = 1, #members do
    local x = valueOf(members[i])
    c = c + 1
    s = s + x
    local d = x - mean
    mean = mean + d / c
    m2 = m2 + d * (x - mean)
    if c == 1 then mn = x; mx = x else
      if x < mn then mn = x end
      if x > mx then mx = x end
    end
    last = x
  end
  if c == 0 then return nil end
  return {c, s, mean, m2, mn, mx, last}
end
local function combine(a, b)
  if a == nil then return b end
  if b == nil then return a end
  local n = a[1] + b[1]
  local d = b[3] - a[3]
  local mn, mx = a[5], a[6]
  if b[5] < mn then mn = b[5] end
  if b[6] > mx then mx = b[6] end
  return {n, a[2] + b[2], a[3] + d * b[1] / n, a[4] + b[4] + d * d * a[1] * b[1] / n, mn, mx, b[7]}
end
local function refresh(leaves)
  for k in pairs(leaves) do
    local lo = k * LEAF
    local m = moments(redis.call('ZRANGEBYSCORE', history, fmt(lo), '(' .. fmt(lo + LEAF)))
    local names, idx = {}, k
    for level = 0, TOP - 1 do
      local sib = idx + 1
      if idx % 2 == 1 then sib = idx - 1 end
      names[#names + 1] = name(level, sib)
      idx = math.floor(idx / 2)
    end
    local sibs = redis.call('HMGET', tree, unpack(names))
    local sets, dels, at = {}, {}, k
    local function put(level)
      local field = name(level, at)
      if m == nil then dels[#dels + 1] = field else
        sets[#sets + 1] = field
        sets[#sets + 1] = pack(m)
      end
    end
    put(0)
    for level = 1, TOP do
      local s = unpackNode(sibs[level])
      if at % 2 == 0 then m = combine(m, s) else m = combine(s, m) end
      at = math.floor(at / 2)
      put(level)
    end
    if #sets > 0 then redis.call('HSET', tree, unpack(sets)) end
    if #dels > 0 then redis.call('HDEL', tree, unpack(dels)) end
  end
end
local function leavesOf(members, into)
  for i = 1, #members do into[math.floor(timeOf(members[i]) / LEAF)] = true end
  return into
end
local function hasTree() return redis.call('HGET', tree, 'cfg') == CFG end
-- after the history changed in the given leaves: keep the tree in step, build it once the history is long, drop it
-- once it is short again (at half the length, so a history around the threshold is not rebuilt at every event)
local function keep(changed, ttl)
  local n = redis.call('ZCARD', history)
  if hasTree() then
    if n * 2 < TREE_FROM then redis.call('DEL', tree) else refresh(changed) end
  elseif n > TREE_FROM then
    redis.call('DEL', tree)
    refresh(leavesOf(redis.call('ZRANGE', history, 0, -1), {}))
    redis.call('HSET', tree, 'cfg', CFG)
  end
  if n > 0 then redis.call('PEXPIRE', tree, ttl) end
end
-- {'raw', members in [t - retention, t) joined} without a tree, else {'tree', latest member before t or '', then per
-- window its moments packed as a node is ('' = empty)}: left members, whole nodes, right members, combined in order
local function summary(t, retention, windows)
  local from = fmt(t - retention)
  if not hasTree() then
    return {'raw', table.concat(redis.call('ZRANGEBYSCORE', history, from, '(' .. fmt(t)), ${JOIN})}
  end
  local latest = redis.call('ZREVRANGEBYSCORE', history, '(' .. fmt(t), from, 'LIMIT', 0, 1)[1] or ''
  local out, plans, names = {'tree', latest}, {}, {}
  for wi = 1, #windows do
    local lo = t - windows[wi]
    local a, b = math.floor(lo / LEAF), math.floor(t / LEAF)
    local plan = {lo = lo, a = a, b = b, first = #names + 1}
    if a ~= b then
      local l, r, level, rights = a + 1, b, 0, {}
      while l < r do
        if l % 2 == 1 then names[#names + 1] = name(level, l); l = l + 1 end
        if r % 2 == 1 then r = r - 1; rights[#rights + 1] = name(level, r) end
        l, r, level = l / 2, r / 2, level + 1
      end
      for i = #rights, 1, -1 do names[#names + 1] = rights[i] end
    end
    plan.last = #names
    plans[wi] = plan
  end
  local nodes, ranges = {}, {}
  if #names > 0 then nodes = redis.call('HMGET', tree, unpack(names)) end
  -- windows share their right end (the events of t's leaf before t): read and fold each range once
  local function between(from, to)
    local key = from .. ' ' .. to
    if ranges[key] == nil then ranges[key] = moments(redis.call('ZRANGEBYSCORE', history, from, to)) or false end
    return ranges[key] or nil
  end
  for wi = 1, #plans do
    local p = plans[wi]
    local m
    if p.a == p.b then
      m = between('(' .. fmt(p.lo), '(' .. fmt(t))
    else
      m = between('(' .. fmt(p.lo), '(' .. fmt((p.a + 1) * LEAF))
      for i = p.first, p.last do m = combine(m, unpackNode(nodes[i])) end
      m = combine(m, between(fmt(p.b * LEAF), '(' .. fmt(t)))
    end
    if m == nil then out[#out + 1] = '' else out[#out + 1] = pack(m) end
  end
  return out
end
`;

/**
 * applyCustomerEvent.
 * KEYS: 1 history (zset), 2 first-seen (hash), 3 event claim (hash), 4 latest record (string), 5 window tree (hash).
 * ARGV: 1 eventTime, 2 member, 3 record, 4 retentionMs, 5 maxEvents, 6 allowedLatenessMs (followed by ':apply'
 *       when an event behind it is applied anyway: a backfill; the trim horizon is the same), 7 claimTtlMs,
 *       8 idleTtlMs, 9 tree spec ('leafMs top treeFrom'), 10 windows (ms, space-separated), 11.. first-seen fields.
 * Returns {'applied'|'duplicate', summary parts of the prior (WINDOW_TREE's summary), {before per field | false}} or
 * {'too-late', newest}. Prior = members with score in [eventTime - retentionMs, eventTime), in sorted-set order;
 * members are compact (order key, hash, time, value: keys.ts), and the record is kept once, in `latest`, when the
 * event is the newest. The claim hash keeps `t` (the event time) and `f:<field>` = first-seen value before the event
 * ('' = none), so a duplicate answers with what the first delivery saw.
 */
export const APPLY_CUSTOMER_EVENT = `
local history, firstseen, claim, latest, tree = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local spec = ARGV[9]
${WINDOW_TREE}
local t = tonumber(ARGV[1])
local retention = tonumber(ARGV[4])
local lateness, mode = string.match(ARGV[6], '^([^:]+):?(.*)$')
lateness = tonumber(lateness)
local windows = {}
for w in string.gmatch(ARGV[10], '%S+') do windows[#windows + 1] = tonumber(w) end
local nfields = #ARGV - 10
if redis.call('EXISTS', claim) == 1 then
  local before = {}
  for i = 1, nfields do
    local v = redis.call('HGET', claim, 'f:' .. ARGV[10 + i])
    if v == false then v = redis.call('HGET', firstseen, ARGV[10 + i]) elseif v == '' then v = false end
    before[i] = v
  end
  return {'duplicate', summary(t, retention, windows), before}
end
local top = redis.call('ZREVRANGE', history, 0, 0, 'WITHSCORES')
local newest = top[2] and tonumber(top[2])
if newest and mode ~= 'apply' and t < newest - lateness then return {'too-late', top[2]} end
local p = summary(t, retention, windows)
local before, remembered = {}, {'t', ARGV[1]}
for i = 1, nfields do
  local f = ARGV[10 + i]
  local v = redis.call('HGET', firstseen, f)
  before[i] = v
  remembered[#remembered + 1] = 'f:' .. f
  remembered[#remembered + 1] = v or ''
  if v == false or t < tonumber(v) then redis.call('HSET', firstseen, f, ARGV[1]) end
end
redis.call('ZADD', history, ARGV[1], ARGV[2])
-- the newest member (by time, then member bytes) owns the latest record; compare by equality, never by locale
if redis.call('ZREVRANGE', history, 0, 0)[1] == ARGV[2] then
  redis.call('SET', latest, ARGV[3], 'PX', ARGV[8])
else
  redis.call('PEXPIRE', latest, ARGV[8])
end
if newest == nil or newest < t then newest = t end
-- keep what an event still accepted (up to allowedLatenessMs behind the newest) or redelivered needs for its window
local changed = {[math.floor(t / LEAF)] = true}
local cut = '(' .. fmt(newest - retention - lateness)
leavesOf(redis.call('ZRANGEBYSCORE', history, '-inf', cut), changed)
redis.call('ZREMRANGEBYSCORE', history, '-inf', cut)
local extra = -(tonumber(ARGV[5]) + 1)
leavesOf(redis.call('ZRANGE', history, 0, extra), changed)
redis.call('ZREMRANGEBYRANK', history, 0, extra)
keep(changed, ARGV[8])
redis.call('HSET', claim, unpack(remembered))
redis.call('PEXPIRE', claim, ARGV[7])
redis.call('PEXPIRE', history, ARGV[8])
if nfields > 0 then redis.call('PEXPIRE', firstseen, ARGV[8]) end
return {'applied', p, before}
`;

/**
 * readCustomer: a customer's latest record and time, the summary parts of the members before it within the
 * retention (WINDOW_TREE's summary; the members themselves while no tree of this spec is kept: this script writes
 * nothing), the first sightings.
 * KEYS: 1 history (zset), 2 first-seen (hash), 3 latest record (string), 4 window tree (hash).
 * ARGV: 1 retentionMs, 2 tree spec, 3 windows (ms, space-separated).
 * Returns {} for a customer without history, else {record, time, summary parts, {field, value…}}.
 */
export const READ_CUSTOMER = `
local history, tree = KEYS[1], KEYS[4]
local spec = ARGV[2]
${WINDOW_TREE}
local top = redis.call('ZREVRANGE', history, 0, 0, 'WITHSCORES')
local record = redis.call('GET', KEYS[3])
if top[1] == nil or not record then return {} end
local windows = {}
for w in string.gmatch(ARGV[3], '%S+') do windows[#windows + 1] = tonumber(w) end
return {record, top[2], summary(tonumber(top[2]), tonumber(ARGV[1]), windows), redis.call('HGETALL', KEYS[2])}
`;

/**
 * previewCustomerEvent: what APPLY_CUSTOMER_EVENT would read for an event, writing nothing.
 * KEYS: 1 history (zset), 2 first-seen (hash). ARGV: 1 eventTime, 2 retentionMs, 3.. first-seen fields.
 * Returns {members with score >= eventTime - retentionMs joined by U+0002 (the event's prior, then any later ones:
 * a copy of the event, the newest), {value per field | false}}.
 */
export const PREVIEW_CUSTOMER_EVENT = `
local from = string.format('%.17g', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local members = table.concat(redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf'), ${JOIN})
if #ARGV < 3 then return {members, {}} end
return {members, redis.call('HMGET', KEYS[2], unpack(ARGV, 3))}
`;

/**
 * Compare-and-set (an alias move, a drift record). KEYS: 1 key, 2 history list (optional). ARGV: 1 '1' when a value is expected ('0' = absent),
 * 2 expected, 3 next, 4 history entry, 5 channel ('' = none), 6 notice. Returns 1 when set, 0 otherwise.
 */
export const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
if KEYS[2] then redis.call('RPUSH', KEYS[2], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1
`;

/** releaseLock: KEYS 1 lock; ARGV 1 owner. Deletes only if the owner still holds it; returns 1 when deleted. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** renewLock: KEYS 1 lock; ARGV 1 owner, 2 ttlMs. Re-arms the expiry only if the owner still holds it; 1 = renewed. */
export const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * addDriftCounts: HINCRBY with double arithmetic identical to JavaScript's (HINCRBYFLOAT uses long double and differs).
 * KEYS: 1 hash. ARGV: 1 ttlMs ('' = keep), then field, increment pairs. Returns the new values as strings,
 * written in the shortest form that reads back to the same double.
 */
export const HASH_INCREMENT = `
local function str(x)
  if x == math.floor(x) and math.abs(x) < 2^53 then return string.format('%d', x) end
  for p = 15, 16 do
    local s = string.format('%.' .. p .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end
local out = {}
for i = 2, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local n = 0
  if cur then
    n = tonumber(cur)
    if n == nil then return redis.error_reply('ERR hash value is not a float') end
  end
  out[#out + 1] = str(n + tonumber(ARGV[i + 1]))
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], out[i / 2]) end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return out
`;
