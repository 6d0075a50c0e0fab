// CloudEvents for launch-training, posted as the broker's Trigger delivers them: the tests against the API server
// fake and against the real kube-apiserver send the same ones.
import { executorFromConfig, launchTrainingFunction } from '../../functions/launch-training/function.ts';
import type { Config } from '../../shared/config/index.ts';
import { EventTypes } from '../../shared/events/index.ts';
import type { Logger, RunningFunction } from '../../shared/runtime/index.ts';
import { serve } from '../../shared/runtime/index.ts';

/** The clock launch-training runs on in these tests. */
export const NOW = Date.parse('2025-03-01T12:00:00Z');
export const DAY = 24 * 3_600_000;

/** A drift.detected for `model` whose window ends at `end`. */
export function driftDetected(id: string, model: 'risk' | 'segment' = 'risk', end = NOW - 60_000) {
  return {
    id,
    source: 'flywheel/detect-drift',
    type: EventTypes.driftDetected,
    time: new Date(NOW).toISOString(),
    data: {
      model: { name: model, version: 3 },
      window: { start: end - 240_000, end, count: 500 },
      features: { amount: { psi: 0.31, drifted: true } },
      drifted: true,
      driftedShare: 0.5,
      threshold: { psi: 0.2 },
      consecutiveWindows: 3,
      reason: 'PSI above 0.2 on amount for 3 windows',
    },
  };
}

export type Posted = { id: string; source: string; type: string; time?: string; data: unknown };

/** Posts one CloudEvent in binary mode, as the broker's Trigger delivers it. */
export function post(url: string, e: Posted): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': e.id,
      'ce-source': e.source,
      'ce-type': e.type,
      ...(e.time ? { 'ce-time': e.time } : {}),
      'content-type': 'application/json',
    },
    body: JSON.stringify(e.data),
  });
}

/** launch-training with the Kubernetes executor on `kubeconfigPath`, served on a free loopback port, at {@link NOW}. */
export function serveLaunchTraining(a: {
  config: Config;
  log: Logger;
  kubeconfigPath: string;
}): Promise<RunningFunction> {
  const executor = executorFromConfig(a);
  return serve(launchTrainingFunction({ executor, config: a.config, now: () => NOW }), {
    port: 0,
    host: '127.0.0.1',
    log: a.log,
    maxBodyBytes: 64 * 1024,
    shutdownGraceMs: 1000,
  });
}
