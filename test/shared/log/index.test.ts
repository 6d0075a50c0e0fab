// createEventLog: KAFKA_BROKERS picks Kafka, its absence the embedded file log, and the start-up log says which.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createEventLog } from '../../../shared/log/index.ts';
import { createLogger } from '../../../shared/runtime/logger.ts';

/** A logger whose JSON lines are kept for inspection. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; messages: () => string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ name: 'ingest', level: 'info', destination });
  return { log, messages: () => lines.map((line) => String(JSON.parse(line).msg)) };
}

describe('createEventLog', () => {
  it('uses the embedded file log when KAFKA_BROKERS is not set, and says so at start-up', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flywheel-log-index-'));
    const { log, messages } = capturingLogger();
    for (const brokers of [undefined, '', ' , ']) {
      const events = createEventLog({
        brokers,
        topic: 'flywheel.events',
        clientId: 'c',
        dataDir,
        timeoutMs: 500,
        log,
      });
      assert.equal(events.kind, 'file');
      await events.close();
    }
    assert.deepEqual(messages(), [
      ...Array(3).fill(
        `event log: embedded file log at ${join(dataDir, 'log', 'flywheel.events')} (set KAFKA_BROKERS for Kafka)`,
      ),
    ]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses Kafka when KAFKA_BROKERS lists brokers, without connecting before the first call', async () => {
    const { log, messages } = capturingLogger();
    const events = createEventLog({
      brokers: '127.0.0.1:1, 127.0.0.1:2',
      topic: 'flywheel.events',
      clientId: 'c',
      dataDir: '.unused',
      timeoutMs: 200,
      log,
    });
    assert.equal(events.kind, 'kafka');
    assert.deepEqual(messages(), ['event log: Kafka at 127.0.0.1:1,127.0.0.1:2, topic flywheel.events']);
    await events.close();
  });
});
