#!/usr/bin/env node
// The `flywheel` command: `flywheel models …` (the registry), `flywheel train …` (the trainer) and
// `flywheel backfill …` (rebuilds the online store from the event log).
import { register } from 'tsx/esm/api';

register();
const [command, ...args] = process.argv.slice(2);
if (command === 'models') {
  const { runModelsCli } = await import('../shared/registry/cli.ts');
  process.exitCode = await runModelsCli(args);
} else if (command === 'status') {
  const { runStatusCli } = await import('../shared/registry/cli.ts');
  process.exitCode = await runStatusCli(args);
} else if (command === 'train') {
  const { runTrainerCli } = await import('../shared/training/cli.ts');
  process.exitCode = await runTrainerCli(args);
} else if (command === 'send') {
  const { runSendCli } = await import('../shared/send/cli.ts');
  process.exitCode = await runSendCli(args);
} else if (command === 'backfill') {
  const { runBackfillCli } = await import('../shared/backfill/cli.ts');
  process.exitCode = await runBackfillCli(args);
} else {
  console.log(
    'usage: flywheel models <list|show|history|register|promote|rollback> … (flywheel models --help)\n       flywheel status [--url URL] [--json]\n       flywheel train --model risk|segment --from ISO --to ISO\n       flywheel train --model risk|segment [--since ISO] [--wait] (through the running loop)\n       flywheel send <file.csv|file.jsonl> [--type transaction|label] [--rate N] [--batch N] [--url URL]\n       flywheel backfill --from ISO --to ISO [--feature-set VERSION] [--resume | --restart]',
  );
  process.exitCode = command ? 2 : 0;
}
