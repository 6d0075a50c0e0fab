// `flywheel train` without --from/--to: usage errors (2), no broker (3), and the event a broker receives.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { TrainingRequestedSchema } from '../../../shared/events/index.ts';
import { freePort } from '../../support/ports.ts';
import { flywheel } from './support.ts';

describe('flywheel train through the loop', () => {
  it('exits 2 on a usage error', async () => {
    for (const args of [
      ['train', '--model', 'credit'],
      ['train', '--model', 'risk', '--until', '2026-10-02T00:00:00Z'],
      ['train', '--model', 'risk', '--since', 'yesterday'],
      [
        'train',
        '--model',
        'risk',
        '--from',
        '2026-10-01T00:00:00Z',
        '--to',
        '2026-10-02T00:00:00Z',
        '--wait',
      ],
    ]) {
      const { code, stderr } = await flywheel(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    }
  });

  it('exits 3 when no broker answers', async () => {
    const port = await freePort();
    const { code, stdout } = await flywheel([
      'train',
      '--model',
      'segment',
      '--url',
      `http://127.0.0.1:${port}/`,
    ]);
    assert.equal(code, 3, stdout);
    assert.match(stdout, /no broker at .*is the loop running/);
  });

  it('posts training.requested for the model with the range named, and exits 0 without --wait', async () => {
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const broker = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    const { port } = broker.address() as { port: number };
    try {
      const { code, stdout } = await flywheel([
        'train',
        '--model',
        'risk',
        '--since',
        '2026-10-01T00:00:00Z',
        '--until',
        '2026-10-22T00:00:00Z',
        '--url',
        `http://127.0.0.1:${port}/`,
      ]);
      assert.equal(code, 0, stdout);
      assert.equal(received.length, 1);
      assert.equal(received[0]?.headers['content-type'], 'application/cloudevents+json');
      const event = JSON.parse(received[0]?.body ?? '{}') as Record<string, unknown>;
      assert.equal(event.type, 'dev.flywheel.training.requested');
      assert.equal(event.flywheelmodel, 'risk');
      const data = TrainingRequestedSchema.parse(event.data);
      assert.deepEqual(data.range, {
        from: Date.parse('2026-10-01T00:00:00Z'),
        to: Date.parse('2026-10-22T00:00:00Z'),
      });
      assert.equal(data.model, 'risk');
    } finally {
      await new Promise((r) => broker.close(r));
    }
  });
});
