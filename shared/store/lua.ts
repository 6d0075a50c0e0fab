// The Lua scripts the Redis store runs atomically; each touches only the keys it is given (cluster-safe).

/**
 * Lua of {@link summarizePrior} (shared/features/windows.ts), operation for operation, so both give the same doubles.
 * summarize(history, t, retention, windows): the history members with score in [t - retention, t), in sorted-set
 * order (time, then member bytes = order key first), each holding its value after the first \\1 and the 16-hex
 * hash (see historyMember in keys.ts). `t` is the score as a string. Returns one string: the latest prior time ('' when
 * none), then count, sum, mean, min, max, std, last per window, comma-separated, each as %.17g (exact as a double).
 */
const SUMMARIZE_PRIOR = `
local function fmt(x) return string.format('%.17g', x) end
local function summarize(history, ts, retention, windows)
  local t = tonumber(ts)
  local entries = redis.call('ZRANGEBYSCORE', history, fmt(t - retention), '(' .. ts, 'WITHSCORES')
  local n = #entries / 2
  local times, xs = {}, {}
  for i = 1, n do
    local m = entries[2 * i - 1]
    local a = string.find(m, '\\1', 1, true) + 18
    xs[i] = tonumber(string.sub(m, a, string.find(m, '\\1', a, true) - 1))
    times[i] = tonumber(entries[2 * i])
  end
  local out = {n > 0 and entries[2 * n] or ''}
  for w = 1, #windows do
    -- times ascend, so a window is a suffix: find its first entry (time > t - window) by bisection
    local from = t - windows[w]
    local lo, hi = 1, n + 1
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if times[mid] > from then hi = mid else lo = mid + 1 end
    end
    if lo > n then
      out[#out + 1] = '0,0,0,0,0,0,0'
    else
      local c, s, mean, m2, mn, mx = 0, 0, 0, 0, math.huge, -math.huge
      for i = lo, n do
        local x = xs[i]
        c = c + 1
        s = s + x
        local d = x - mean
        mean = mean + d / c
        m2 = m2 + d * (x - mean)
        if x < mn then mn = x end
        if x > mx then mx = x end
      end
      out[#out + 1] = c .. ',' .. fmt(s) .. ',' .. fmt(mean) .. ',' .. fmt(mn) .. ',' .. fmt(mx) .. ',' ..
        fmt(math.sqrt(m2 / c)) .. ',' .. fmt(xs[n])
    end
  end
  return table.concat(out, ',')
end
`;

/**
 * applyCustomerEvent.
 * KEYS: 1 history (zset), 2 first-seen (hash), 3 event claim (hash).
 * ARGV: 1 eventTime, 2 member, 3 retentionMs, 4 maxEvents, 5 allowedLatenessMs, 6 claimTtlMs, 7 idleTtlMs,
 *       8 number of windows W, 9..8+W window lengths, then the first-seen fields.
 * Returns {'applied'|'duplicate', prior summary, {before per field | false}} or {'too-late', newest}.
 * The claim hash keeps `t` (the event time) and `f:<field>` = first-seen value before the event ('' = none), so a
 * duplicate answers with what the first delivery saw.
 */
export const APPLY_CUSTOMER_EVENT = `${SUMMARIZE_PRIOR}
local history, firstseen, claim = KEYS[1], KEYS[2], KEYS[3]
local t = tonumber(ARGV[1])
local retention = tonumber(ARGV[3])
local nwindows = tonumber(ARGV[8])
local windows = {}
for w = 1, nwindows do windows[w] = tonumber(ARGV[8 + w]) end
local first = 9 + nwindows
local nfields = #ARGV - first + 1
if redis.call('EXISTS', claim) == 1 then
  local before = {}
  for i = 1, nfields do
    local f = ARGV[first + i - 1]
    local v = redis.call('HGET', claim, 'f:' .. f)
    if v == false then v = redis.call('HGET', firstseen, f) elseif v == '' then v = false end
    before[i] = v
  end
  return {'duplicate', summarize(history, ARGV[1], retention, windows), before}
end
local top = redis.call('ZREVRANGE', history, 0, 0, 'WITHSCORES')
local newest = top[2] and tonumber(top[2])
if newest and t < newest - tonumber(ARGV[5]) then return {'too-late', top[2]} end
local p = summarize(history, ARGV[1], retention, windows)
local before, remembered = {}, {'t', ARGV[1]}
for i = 1, nfields do
  local f = ARGV[first + i - 1]
  local v = redis.call('HGET', firstseen, f)
  before[i] = v
  remembered[#remembered + 1] = 'f:' .. f
  remembered[#remembered + 1] = v or ''
  if v == false or t < tonumber(v) then redis.call('HSET', firstseen, f, ARGV[1]) end
end
redis.call('ZADD', history, ARGV[1], ARGV[2])
if newest == nil or newest < t then newest = t end
redis.call('ZREMRANGEBYSCORE', history, '-inf', '(' .. fmt(newest - retention))
redis.call('ZREMRANGEBYRANK', history, 0, -(tonumber(ARGV[4]) + 1))
redis.call('HSET', claim, unpack(remembered))
redis.call('PEXPIRE', claim, ARGV[6])
redis.call('PEXPIRE', history, ARGV[7])
if nfields > 0 then redis.call('PEXPIRE', firstseen, ARGV[7]) end
return {'applied', p, before}
`;

/**
 * readCustomer: a customer's latest event and the summary of the events before it (what score serves).
 * KEYS: 1 history (zset), 2 first-seen (hash). ARGV: 1 retentionMs, 2.. window lengths.
 * Returns {} for a customer without history, else {latest member, its time, prior summary, {first-seen field, value, ...}}.
 */
export const READ_CUSTOMER = `${SUMMARIZE_PRIOR}
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if top[1] == nil then return {} end
local windows = {}
for w = 2, #ARGV do windows[w - 1] = tonumber(ARGV[w]) end
local p = summarize(KEYS[1], top[2], tonumber(ARGV[1]), windows)
return {top[1], top[2], p, redis.call('HGETALL', KEYS[2])}
`;

/**
 * compareAndSet. KEYS: 1 key, 2 history list (optional). ARGV: 1 '1' when a value is expected ('0' = absent),
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

/**
 * hincrby with double arithmetic identical to JavaScript's (HINCRBYFLOAT uses long double and differs).
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
