// Benchmark: events through the local broker (ingress → queue → keep-alive binary delivery) against posting to
// the subscriber directly; prints a markdown table. Run: npx tsx bench/broker.ts [seconds]
import { startChild } from './support/child.ts';
import { machine, ms, runLoad } from './support/load.ts';

const seconds = Number(process.argv[2] ?? '8');
const peers = await startChild('bench/support/peers.ts');
const sink = peers.info.sink ?? '';
const replier = peers.info.replier ?? '';
const target = await startChild('bench/support/broker-target.ts', { args: [sink, replier] });
const brokerUrl = target.info.url ?? '';

interface TriggerStats {
  name: string;
  delivered: number;
  queued: number;
  inFlight: number;
}
async function stats(): Promise<TriggerStats[]> {
  const res = await fetch(`${brokerUrl}/broker/stats`);
  return ((await res.json()) as { triggers: TriggerStats[] }).triggers;
}
const delivered = async (name: string) => (await stats()).find((t) => t.name === name)?.delivered ?? 0;

const body = JSON.stringify({ customerId: 'c-1', amount: 42.5, currency: 'EUR', channel: 'web' });
const headers = (type: string) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': 'bench-1',
  'ce-source': 'bench',
  'ce-type': type,
});

interface Row {
  name: string;
  offered: number;
  accepted: number;
  refused: number;
  deliveredPerSecond: number;
  p50: number;
  p99: number;
}

/** Loads the broker for `seconds`, then waits for its queues to drain; deliveries per second over the whole run. */
async function throughBroker(name: string, type: string, countOn: string): Promise<Row> {
  const before = await delivered(countOn);
  const started = performance.now();
  const load = await runLoad({
    name,
    url: brokerUrl,
    headers: headers(type),
    body,
    durationSeconds: seconds,
  });
  for (const until = Date.now() + 30_000; ; ) {
    const s = await stats();
    if (s.every((t) => t.queued === 0 && t.inFlight === 0)) break;
    if (Date.now() > until) throw new Error(`${name}: the broker's queues did not drain within 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const elapsed = (performance.now() - started) / 1000;
  const count = (await delivered(countOn)) - before;
  return {
    name,
    offered: Math.round(load.requestsPerSecond),
    accepted: Math.round(load.requestsPerSecond - load.non2xx / seconds),
    refused: load.non2xx,
    deliveredPerSecond: Math.round(count / elapsed),
    p50: load.p50Ms,
    p99: load.p99Ms,
  };
}

await runLoad({ name: 'warm', url: `${sink}/`, headers: headers('bench.a'), body, durationSeconds: 2 });
await throughBroker('warm', 'bench.a', 'a');
const direct = await runLoad({
  name: 'direct',
  url: `${sink}/`,
  headers: headers('bench.a'),
  body,
  durationSeconds: seconds,
});
const rows: Row[] = [
  {
    name: 'subscriber directly (no broker)',
    offered: Math.round(direct.requestsPerSecond),
    accepted: Math.round(direct.requestsPerSecond),
    refused: direct.non2xx,
    deliveredPerSecond: Math.round(direct.requestsPerSecond),
    p50: direct.p50Ms,
    p99: direct.p99Ms,
  },
  await throughBroker('broker → sink (1 delivery per event)', 'bench.a', 'a'),
  await throughBroker('broker → replier → broker → sink (reply hop)', 'bench.b', 'c'),
];
await target.stop();
await peers.stop();

console.log('### Local broker throughput\n');
console.log(
  `${machine()}. Broker, subscribers and autocannon in three processes; 32 connections for ${seconds} s per row after 2 s warm-ups (subscriber, then broker → sink); ` +
    `queue 2000 per trigger, 16 deliveries in flight per trigger; a ${body.length}-byte binary-mode event. ` +
    '"delivered/s" counts deliveries that reached the last subscriber, from the start of the load until the queues drained.\n',
);
console.log(
  '| path | ingress req/s | accepted/s (202) | refused (429) | delivered/s | ingress p50 ms | ingress p99 ms |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.offered} | ${r.accepted} | ${r.refused} | ${r.deliveredPerSecond} | ${ms(r.p50)} | ${ms(r.p99)} |`,
  );
