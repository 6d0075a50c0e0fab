// The Lua scripts the Redis store runs atomically; each touches only the keys it is given (cluster-safe).
import { MEMBER_JOIN } from './keys.ts';

/**
 * applyCustomerEvent.
 * KEYS: 1 history (zset), 2 first-seen (hash), 3 event claim (hash), 4 latest record (string).
 * ARGV: 1 eventTime, 2 member, 3 record, 4 retentionMs, 5 maxEvents, 6 allowedLatenessMs (followed by ':apply'
 *       when an event behind it is applied anyway: a backfill; the trim horizon is the same), 7 claimTtlMs,
 *       8 idleTtlMs, 9.. first-seen fields.
 * Returns {'applied'|'duplicate', prior members joined by U+0002, {before per field | false}} or {'too-late', newest}.
 * Prior = members with score in [eventTime - retentionMs, eventTime), in sorted-set order; members are compact
 * (order key, hash, time, value: keys.ts), and the record is kept once, in `latest`, when the event is the newest.
 * The claim hash keeps `t` (the event time) and `f:<field>` = first-seen value before the event ('' = none), so a
 * duplicate answers with what the first delivery saw.
 */
/** MEMBER_JOIN as a Lua string literal. */
const JOIN = `'\\${MEMBER_JOIN.charCodeAt(0)}'`;

export const APPLY_CUSTOMER_EVENT = `
local history, firstseen, claim, latest = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = tonumber(ARGV[1])
local retention = tonumber(ARGV[4])
local lateness, mode = string.match(ARGV[6], '^([^:]+):?(.*)$')
lateness = tonumber(lateness)
local nfields = #ARGV - 8
local function fmt(x) return string.format('%.17g', x) end
-- one joined string rather than a bulk string per member: the client allocates one reply, not dozens
local function prior()
  return table.concat(redis.call('ZRANGEBYSCORE', history, fmt(t - retention), '(' .. ARGV[1]), ${JOIN})
end
if redis.call('EXISTS', claim) == 1 then
  local before = {}
  for i = 1, nfields do
    local v = redis.call('HGET', claim, 'f:' .. ARGV[8 + i])
    if v == false then v = redis.call('HGET', firstseen, ARGV[8 + i]) elseif v == '' then v = false end
    before[i] = v
  end
  return {'duplicate', prior(), before}
end
local top = redis.call('ZREVRANGE', history, 0, 0, 'WITHSCORES')
local newest = top[2] and tonumber(top[2])
if newest and mode ~= 'apply' and t < newest - lateness then return {'too-late', top[2]} end
local p = prior()
local before, remembered = {}, {'t', ARGV[1]}
for i = 1, nfields do
  local f = ARGV[8 + i]
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
redis.call('ZREMRANGEBYSCORE', history, '-inf', '(' .. fmt(newest - retention - lateness))
redis.call('ZREMRANGEBYRANK', history, 0, -(tonumber(ARGV[5]) + 1))
redis.call('HSET', claim, unpack(remembered))
redis.call('PEXPIRE', claim, ARGV[7])
redis.call('PEXPIRE', history, ARGV[8])
if nfields > 0 then redis.call('PEXPIRE', firstseen, ARGV[8]) end
return {'applied', p, before}
`;

/**
 * readCustomer: a customer's latest record and time, the members before it within the retention, the first sightings.
 * KEYS: 1 history (zset), 2 first-seen (hash), 3 latest record (string). ARGV: 1 retentionMs.
 * Returns {} for a customer without history, else {record, time, prior members joined by U+0002, {field, value…}}.
 */
export const READ_CUSTOMER = `
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local record = redis.call('GET', KEYS[3])
if top[1] == nil or not record then return {} end
local from = string.format('%.17g', tonumber(top[2]) - tonumber(ARGV[1]))
local p = table.concat(redis.call('ZRANGEBYSCORE', KEYS[1], from, '(' .. top[2]), ${JOIN})
return {record, top[2], p, redis.call('HGETALL', KEYS[2])}
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

/**
 * publish through the master of the channel's slot on a cluster. KEYS: 1 the channel (named as a key only to route
 * the call; no key is read or written). ARGV: 1 message. Returns the number of receivers on this node.
 */
export const PUBLISH_IN_SLOT = `
return redis.call('PUBLISH', KEYS[1], ARGV[1])
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
