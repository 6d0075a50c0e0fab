// Stands in for the trainer CLI in local-executor tests: prints lines, writes its --output file, exits as told.
// FAKE_TRAINER_EXIT: exit code (default 0). FAKE_TRAINER_RELEASE: a path; the process waits until it exists
// (bounded by FAKE_TRAINER_MAX_WAIT_MS, default 20 s), so a test can hold a run in progress without timing.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    output: { type: 'string' },
  },
});

const exitCode = Number(process.env.FAKE_TRAINER_EXIT ?? '0');
const release = process.env.FAKE_TRAINER_RELEASE;
const maxWaitMs = Number(process.env.FAKE_TRAINER_MAX_WAIT_MS ?? '20000');

process.stdout.write(
  `fake-trainer ${positionals.join(' ')} model=${values.model} from=${values.from} to=${values.to}\n`,
);
process.stderr.write('fake-trainer: backend cpu (stderr line)\n');

if (release) {
  const deadline = Date.now() + maxWaitMs;
  while (!existsSync(release) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

if (values.output) {
  const result = { model: values.model, from: values.from, to: values.to, metrics: { auc: 0.9 } };
  await writeFile(values.output, JSON.stringify(result));
}
process.stdout.write(`fake-trainer done exit=${exitCode}\n`);
process.exitCode = exitCode;
