// `flywheel models …` against a real redis-server: register a bring-your-own ONNX file straight into the store, then
// promote, list and roll back through the promote function serving that store.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { promoteFunction } from '../../../functions/promote/function.ts';
import { defaultConfig } from '../../../shared/config/index.ts';
import { createLogger, type RunningFunction, serve } from '../../../shared/runtime/index.ts';
import { createRedisStore } from '../../../shared/store/index.ts';
import { riskOnnx } from '../../support/models.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';

const run = promisify(execFile);

describe('flywheel models', () => {
  let redis: RedisServer;
  let dir: string;
  let promote: RunningFunction;
  const TOKEN = 'admin-token';
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['bin/flywheel.js', 'models', ...args], {
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          FLYWHEEL_DATA_DIR: dir,
          FLYWHEEL_URL: promote.url,
          FLYWHEEL_PROMOTE_TOKEN: TOKEN,
        },
      });
      return { code: 0, out: stdout, err: stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };
  before(async () => {
    redis = await startRedis();
    dir = await mkdtemp(path.join(tmpdir(), 'flywheel-cli-'));
    await writeFile(path.join(dir, 'good.onnx'), riskOnnx({ bias: 0 }));
    await writeFile(path.join(dir, 'junk.onnx'), 'not a model');
    const log = createLogger({ name: 'test', level: 'silent' });
    const store = createRedisStore({ url: redis.url, timeoutMs: 2_000, log });
    promote = await serve(promoteFunction({ store, config: defaultConfig({ PROMOTE_TOKEN: TOKEN }), log }), {
      port: 0,
      host: '127.0.0.1',
      log,
      maxBodyBytes: 65_536,
      shutdownGraceMs: 1_000,
    });
  });
  after(async () => {
    await promote?.close();
    await redis.stop();
  });

  it('registers, promotes, lists and rolls back through the command line', async () => {
    assert.match(
      (await cli('register', 'risk', path.join(dir, 'good.onnx'), '--metrics', '{"rocAuc":0.91}')).out,
      /registered risk v1 .*16 inputs/,
    );
    assert.match((await cli('register', 'risk', path.join(dir, 'good.onnx'))).out, /registered risk v2/);
    assert.match((await cli('promote', 'risk', '1')).out, /risk champion: — → v1 /);
    assert.match(
      (await cli('promote', 'risk', 'v2', '--reason', 'better')).out,
      /risk champion: v1 → v2 .* better/,
    );
    const list = (await cli('list', 'risk')).out.trim().split('\n');
    assert.equal(list.length, 3, 'a header and two versions');
    assert.match(list[2] ?? '', /^risk\s+v2\s+champion\s/);
    assert.match(list[1] ?? '', /rocAuc=0.91$/);
    assert.match((await cli('rollback', 'risk')).out, /risk champion: v2 → v1 \(rollback\)/);
    assert.equal((await cli('history', 'risk')).out.trim().split('\n').length, 4, 'a header and three moves');
  });

  it('refuses a file onnxruntime-node cannot load, with a non-zero exit and the reason', async () => {
    const res = await cli('register', 'risk', path.join(dir, 'junk.onnx'));
    assert.equal(res.code, 1);
    assert.match(res.err, /error: cannot serve this file as risk/);
  });
});
