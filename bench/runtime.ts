// Benchmark: an echo function through serve() against a bare hono route doing the same work, one run, loopback.
import { CloudEvent, HTTP } from 'cloudevents';
import { EventTypes } from '../shared/events/index.ts';
import { transaction } from '../test/support/events.ts';
import { startChild } from './support/child.ts';
import { machine, runLoad, table } from './support/load.ts';

const duration = Number(process.argv[2] ?? '10');
const msg = HTTP.binary(
  new CloudEvent({
    id: 'bench-1',
    source: 'bench',
    type: EventTypes.transaction,
    datacontenttype: 'application/json',
    data: transaction(),
  }),
);
const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)]));
const body = String(msg.body);

const targets = await startChild('bench/support/runtime-targets.ts');
const bareUrl = targets.info.bare ?? '';
const serveUrl = targets.info.serve ?? '';
await runLoad({ name: 'warm', url: bareUrl, headers, body, durationSeconds: 2 });
await runLoad({ name: 'warm', url: serveUrl, headers, body, durationSeconds: 2 });
const results = [
  await runLoad({ name: 'bare hono route', url: bareUrl, headers, body, durationSeconds: duration }),
  await runLoad({ name: 'serve() echo function', url: serveUrl, headers, body, durationSeconds: duration }),
];
await targets.stop();
const ratio = (results[1]?.requestsPerSecond ?? 0) / (results[0]?.requestsPerSecond ?? 1);
console.log(`### Runtime: serve() vs bare hono route\n`);
console.log(
  `${machine()}. Both targets in one child process, autocannon in the parent: 32 connections, ${duration} s each after a 2 s warm-up; a binary-mode CloudEvent of ${body.length} bytes, replied to in binary mode.\n`,
);
console.log(table(results));
console.log(`\nserve() keeps ${(100 * ratio).toFixed(0)}% of the bare route's throughput (target ≥ 70%).`);
