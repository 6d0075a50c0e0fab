// The broker under benchmark, in its own process: three triggers (bench.a → sink, bench.b → replier, bench.c → sink).
import { createLogger } from '../../shared/runtime/logger.ts';
import { createBroker } from '../../local/broker/broker.ts';
import { parseTriggers } from '../../local/broker/triggers.ts';
import { announceReady } from './child.ts';

const [sink = '', replier = ''] = process.argv.slice(2);
const trigger = (name: string, type: string, service: string) => `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name} }
spec:
  broker: default
  filters: [{ exact: { type: ${type} } }]
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: ${service} } }
  delivery: { retry: 3, backoffPolicy: exponential, backoffDelay: PT0.1S }`;
const triggers = parseTriggers([
  {
    file: 'bench',
    text: [
      trigger('a', 'bench.a', 'sink'),
      trigger('b', 'bench.b', 'replier'),
      trigger('c', 'bench.c', 'sink'),
    ].join('\n---\n'),
  },
]);
const broker = createBroker({
  triggers,
  resolve: (service) => (service === 'sink' ? sink : replier),
  queueCapacity: Number(process.env.BENCH_QUEUE ?? 2000),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
  log: createLogger({ name: 'broker', level: 'silent' }),
});
const { url } = await broker.listen({ port: 0 });
announceReady({ url }, () => broker.stop({ graceMs: 1000 }));
