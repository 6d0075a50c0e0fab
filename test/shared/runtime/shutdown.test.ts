// Graceful shutdown: SIGTERM stops new work, lets the request in flight finish, closes clients, exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { EventTypes } from '../../../shared/events/index.ts';
import { transaction } from '../../support/events.ts';

describe('SIGTERM', () => {
  it('completes the request in flight, closes clients and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/serve-echo.ts'], {
      env: { ...process.env, ECHO_DELAY_MS: '400' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /port (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const msg = HTTP.binary(
      new CloudEvent({
        id: 'inflight',
        source: 'test',
        type: EventTypes.transaction,
        datacontenttype: 'application/json',
        data: transaction(),
      }),
    );
    const pending = fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: msg.headers as Record<string, string>,
      body: msg.body as string,
    });
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ce-id'), 'echo-inflight');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.match(out, /clients closed/);
    await assert.rejects(
      fetch(`http://127.0.0.1:${port}/health/liveness`),
      'no longer accepting connections',
    );
  });
});
