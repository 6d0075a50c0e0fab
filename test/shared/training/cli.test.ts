// `flywheel train`'s command line: a wrong option is a usage error (exit 2), like every other command's.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { runTrainerCli } from '../../../shared/training/cli.ts';

describe('flywheel train command line', () => {
  it('answers an unknown option or a missing value with the usage and exit code 2, not a crash', async () => {
    const errors: string[] = [];
    const error = mock.method(console, 'error', (...parts: unknown[]) => void errors.push(parts.join(' ')));
    try {
      assert.equal(await runTrainerCli(['--bogus']), 2);
      assert.equal(await runTrainerCli(['--model']), 2);
    } finally {
      error.mock.restore();
    }
    assert.equal(errors.length, 2);
    for (const e of errors) assert.match(e, /usage: flywheel train/);
    assert.match(errors[0] ?? '', /error: .*--bogus/);
    assert.match(errors[1] ?? '', /error: .*--model/);
  });
});
