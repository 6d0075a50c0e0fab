// Runs one of the peers' Python scripts to completion in its group's environment and reads the JSON it wrote.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ensureVenv, type PeerGroup } from './venv.ts';

/**
 * Runs bench/peers/py/<script> with `args` followed by the path it must write its result to, and parses that file
 * with `schema`. The script's stderr (its progress) passes through; a non-zero exit fails with the exit code.
 */
export async function runPythonJob<T>(input: {
  group: PeerGroup;
  script: string;
  args: readonly string[];
  out: string;
  schema: z.ZodType<T>;
}): Promise<T> {
  const python = ensureVenv(input.group);
  const script = path.join(import.meta.dirname, 'py', input.script);
  const child = spawn(python, [script, ...input.args, input.out], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DO_NOT_TRACK: '1', PYTHONUNBUFFERED: '1' },
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`${input.script} exited with ${code ?? signal}`);
  try {
    return input.schema.parse(JSON.parse(readFileSync(input.out, 'utf8')));
  } catch (err) {
    throw new Error(`${input.script} wrote a result that does not parse`, { cause: err });
  }
}
