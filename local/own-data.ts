// What `npm start -- --no-demo` says: where to send one's own events, and how to ask for the first champions.
import type { Loop } from './loop.ts';

/**
 * The lines printed once the loop waits for events: the send commands (ingest's URL), the training commands (the
 * broker's), what each model needs, and a scoring request (score's URL). Port flags are spelled out only when the
 * loop is not on the default port base, so the commands work as printed.
 */
export async function ownDataLines(
  loop: Pick<Loop, 'urls' | 'brokerUrl' | 'registry'>,
  portBase: number,
  defaultBase: number,
): Promise<string[]> {
  const env = portBase === defaultBase ? '' : `FLYWHEEL_PORT_BASE=${portBase} `;
  const lines = [
    'no demo source: the loop waits for your events (nothing is replayed or trained until you ask).',
    `1. send transactions, then fraud labels, to ingest (${loop.urls.ingest}/), as CSV with a header row or JSON Lines:`,
    `     ${env}npx flywheel send transactions.csv`,
    `     ${env}npx flywheel send labels.csv`,
    '   the risk model learns from labels (isFraud true and false; at least 5 frauds among its training rows); the',
    '   segment model needs transactions only. Both champions are needed before the loop scores.',
    `2. ask the loop for the first champions (training.requested to the broker, ${loop.brokerUrl}):`,
  ];
  for (const model of ['risk', 'segment'] as const) {
    const champion = await loop.registry.alias(model, 'champion');
    lines.push(
      champion === null
        ? `     ${env}npx flywheel train --model ${model} --since <your first day, ISO 8601> --wait`
        : `     ${model}: champion v${champion} found in the registry (train again the same way to retrain)`,
    );
  }
  lines.push(
    `3. scores: curl -s ${loop.urls.score}/v1/score -H 'content-type: application/json' -d '{"customerId":"<id>"}'`,
  );
  return lines;
}
