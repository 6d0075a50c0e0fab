// Record helpers: Kafka-compatible key hashing (the file log must place keys where Kafka does) and validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../shared/errors/index.ts';
import { checkRanges, compareOffsets, murmur2, partitionOf } from '../../../shared/log/records.ts';

describe('murmur2 key hashing', () => {
  it("matches the Java client's murmur2 on its published test vectors", () => {
    // Vectors from Apache Kafka's UtilsTest.testMurmur2.
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    assert.deepEqual(
      vectors.map(([key]) => murmur2(key)),
      vectors.map(([, hash]) => hash),
    );
  });

  it('maps a key to the positive hash modulo the partition count, as the default partitioner does', () => {
    assert.equal(partitionOf('foobar', 4), (-790332482 & 0x7fffffff) % 4);
    assert.equal(partitionOf('abc', 4), 479470107 % 4);
  });
});

describe('offset ranges and ordering', () => {
  it('compares offsets past 2^53 numerically', () => {
    assert.equal(compareOffsets('9007199254740993', '9007199254740992'), 1);
    assert.equal(compareOffsets('10', '9'), 1);
    assert.equal(compareOffsets('7', '7'), 0);
  });

  it('names the offending field of a bad offset range', () => {
    assert.throws(
      () =>
        checkRanges([
          { partition: 0, from: '0' },
          { partition: 1, from: '-1' },
        ]),
      (err: unknown) => err instanceof InvalidInputError && err.field === 'ranges.1.from',
    );
  });
});
