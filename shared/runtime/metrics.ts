// Prometheus metrics (prom-client): events by type and outcome, handler latency, plus function-specific counters.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface RuntimeMetrics {
  registry: Registry;
  events: Counter<'type' | 'outcome'>;
  latency: Histogram<'type'>;
  /** Makes (or returns) a counter a handler can move, e.g. late events dropped by featurize. */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter<string>;
}

/** A fresh registry per server, so several functions can run in one process (tests, npm start). */
export function createMetrics(functionName: string): RuntimeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ function: functionName });
  collectDefaultMetrics({ register: registry });
  const events = new Counter({
    name: 'flywheel_events_total',
    help: 'CloudEvents handled, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'flywheel_handler_duration_seconds',
    help: 'Handler latency in seconds, by event type',
    labelNames: ['type'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const counters = new Map<string, Counter<string>>();
  const counter = (name: string, help: string, labelNames: readonly string[] = []): Counter<string> => {
    let c = counters.get(name);
    if (!c) {
      c = new Counter({ name, help, labelNames, registers: [registry] });
      counters.set(name, c);
    }
    return c;
  };
  return { registry, events, latency, counter };
}
