// The order of events with equal times, the same in the features code and in both stores: by transaction id's UTF-8 bytes.

/** Compares strings by their UTF-8 bytes: the order of Redis sorted-set members (differs from `<` beyond the BMP). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
