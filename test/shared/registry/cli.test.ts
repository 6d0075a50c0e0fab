// `flywheel models …` against a real redis-server: register a bring-your-own ONNX file, promote, list, roll back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { riskOnnx } from '../../support/models.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';

const run = promisify(execFile);

describe('flywheel models', () => {
  let redis: RedisServer;
  let dir: string;
  const cli = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, ['bin/flywheel.js', 'models', ...args], {
        env: { ...process.env, REDIS_URL: redis.url, FLYWHEEL_DATA_DIR: dir },
      });
      return { code: 0, out: stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { code: e.code, out: e.stdout };
    }
  };
  before(async () => {
    redis = await startRedis();
    dir = await mkdtemp(path.join(tmpdir(), 'flywheel-cli-'));
    await writeFile(path.join(dir, 'good.onnx'), riskOnnx({ bias: 0 }));
    await writeFile(path.join(dir, 'junk.onnx'), 'not a model');
  });
  after(() => redis.stop());

  it('registers, promotes, lists and rolls back through the command line', async () => {
    assert.match(
      (await cli('register', 'risk', path.join(dir, 'good.onnx'), '--metrics', '{"rocAuc":0.91}')).out,
      /registered risk v1 .*16 inputs/,
    );
    assert.match((await cli('register', 'risk', path.join(dir, 'good.onnx'))).out, /registered risk v2/);
    assert.match((await cli('promote', 'risk', '1')).out, /risk champion: none → 1/);
    assert.match((await cli('promote', 'risk', 'v2', '--reason', 'better')).out, /risk champion: 1 → 2/);
    const list = (await cli('list', 'risk')).out.trim().split('\n');
    assert.equal(list.length, 2);
    assert.match(list[1] ?? '', /^risk\tv2\t.*\tchampion$/);
    assert.match(list[0] ?? '', /"rocAuc":0.91/);
    assert.match((await cli('rollback', 'risk')).out, /rolled back: 2 → 1/);
    assert.equal((await cli('history', 'risk')).out.trim().split('\n').length, 3);
  });

  it('refuses a file onnxruntime-node cannot load, with a non-zero exit and the reason', async () => {
    const res = await cli('register', 'risk', path.join(dir, 'junk.onnx'));
    assert.equal(res.code, 1);
    assert.match(res.out, /error: cannot serve this file as risk/);
  });
});
