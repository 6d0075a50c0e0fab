// Stands in for the trainer CLI in local-executor tests: prints lines, writes its --output file, exits as told.
// FAKE_TRAINER_EXIT: exit code (default 0). FAKE_TRAINER_RELEASE: a path (`{model}` is replaced by the model); the
// process waits until it exists (bounded by FAKE_TRAINER_MAX_WAIT_MS, default 20 s), so a test can hold a run in
// progress without timing. FAKE_TRAINER_FAIL_TIMES=N with FAKE_TRAINER_COUNTER=<file>: the first N processes exit
// 75 (a dependency down: the executor retries) before any other behaviour.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
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
const release = process.env.FAKE_TRAINER_RELEASE?.replace('{model}', values.model ?? '');
const maxWaitMs = Number(process.env.FAKE_TRAINER_MAX_WAIT_MS ?? '20000');

process.stdout.write(
  `fake-trainer ${positionals.join(' ')} model=${values.model} from=${values.from} to=${values.to}\n`,
);
process.stderr.write('fake-trainer: backend cpu (stderr line)\n');

const counter = process.env.FAKE_TRAINER_COUNTER;
if (counter) {
  const attempts = Number(existsSync(counter) ? await readFile(counter, 'utf8') : '0') + 1;
  await writeFile(counter, String(attempts));
  if (attempts <= Number(process.env.FAKE_TRAINER_FAIL_TIMES ?? '0')) {
    process.stdout.write(`fake-trainer attempt ${attempts}: dependency down, exit=75\n`);
    process.exit(75);
  }
}

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
