// Redis Cluster's key-to-slot mapping (CRC16 of the key or its hash tag, mod 16384), for grouping and checks.

/** Number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

/** CRC16/XMODEM (polynomial 0x1021, initial 0), the checksum Redis Cluster hashes keys with (cluster spec, "Keys distribution model"). */
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ (CRC16_TABLE[((crc >> 8) ^ b) & 0xff] ?? 0)) & 0xffff;
  return crc;
}

/**
 * The part of a key that is hashed: the text between the first `{` and the next `}` when that is non-empty
 * (a hash tag), else the whole key (cluster spec, "Hash tags").
 */
export function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return key;
  return key.slice(open + 1, close);
}

/** The cluster slot of a key (its UTF-8 bytes, as Redis sees them). */
export function hashSlot(key: string): number {
  return crc16(Buffer.from(hashedPart(key), 'utf8')) % SLOT_COUNT;
}

/** True when every key maps to one slot: what a Lua script or MULTI on a cluster requires of its keys. */
export function sameSlot(keys: readonly string[]): boolean {
  const [first, ...rest] = keys;
  if (first === undefined) return true;
  const slot = hashSlot(first);
  return rest.every((k) => hashSlot(k) === slot);
}
