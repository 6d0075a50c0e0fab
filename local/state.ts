// What the local loop shows: counters and recent history fed by every event the functions see and reply with.
import { EventTypes, type FlywheelEvent } from '../shared/events/index.ts';
import type { BrokerStats, DeadLetter } from './broker/index.ts';

const KEEP = 600;
/** Model events kept for the snapshot. */
const KEEP_MODELS = 200;

export interface ThroughputSample {
  /** Epoch ms at the end of the one-second interval. */
  t: number;
  ingested: number;
  scored: number;
}

export interface DriftPoint {
  t: number;
  model: string;
  version: number;
  drifted: boolean;
  detected: boolean;
  /** Per-feature PSI (numeric) or JS (categorical) of the closed window, by feature name. */
  features: Record<string, number>;
  prediction: number | null;
}

export interface ModelEvent {
  /** Running number from 1; it keeps counting after older events drop out of the kept list. */
  seq: number;
  t: number;
  kind: 'launched' | 'trained' | 'promoted' | 'rejected' | 'failed' | 'drift';
  model: string;
  version: number | null;
  detail: string;
}

export interface HighRiskScore {
  t: number;
  customerId: string;
  transactionId: string;
  risk: number;
  segment: number;
  version: number;
}

export interface LoopSnapshot {
  startedAt: number;
  now: number;
  totals: {
    ingested: number;
    featurized: number;
    scored: number;
    labels: number;
    driftWindows: number;
    detections: number;
  };
  /** score.computed events by the risk model version that scored them. */
  scoredByVersion: Record<string, number>;
  eventsPerSecond: number;
  scoreP99Ms: number | null;
  champions: Record<'risk' | 'segment', number | null>;
  training: string;
  throughput: ThroughputSample[];
  drift: DriftPoint[];
  models: ModelEvent[];
  highRisk: HighRiskScore[];
  deadLetters: DeadLetter[];
  broker: BrokerStats | null;
  source: { simulatedTime: number | null; drifting: boolean; sent: number; rejected: number };
}

/** Collects the loop's picture from observed events; the terminal line and /dashboard read its snapshot. */
export class LoopState {
  readonly startedAt = Date.now();
  readonly totals = { ingested: 0, featurized: 0, scored: 0, labels: 0, driftWindows: 0, detections: 0 };
  readonly champions: Record<'risk' | 'segment', number | null> = { risk: null, segment: null };
  /** Each model's training run now: running, queued or failed (a model without one is idle). */
  readonly #training = new Map<string, string>();
  readonly source = { simulatedTime: null as number | null, drifting: false, sent: 0, rejected: 0 };
  readonly #throughput: ThroughputSample[] = [];
  readonly #drift: DriftPoint[] = [];
  readonly #models: ModelEvent[] = [];
  readonly #highRisk: HighRiskScore[] = [];
  readonly #scoreLatencies: number[] = [];
  readonly #scoredByVersion: Record<string, number> = {};
  #modelSeq = 0;
  #second = { ingested: 0, scored: 0 };

  /** launch-training answered a request without a reply: a queued run shows as queued until it starts. */
  trainingAnswer(event: FlywheelEvent, detail: string | undefined): void {
    if (!detail?.startsWith('training.queued')) return;
    if (event.type === EventTypes.driftDetected) {
      const d = (event as FlywheelEvent<typeof EventTypes.driftDetected>).data;
      if (!this.#training.has(d.model.name)) this.#training.set(d.model.name, 'queued');
    } else if (event.type === EventTypes.trainingRequested) {
      const d = (event as FlywheelEvent<typeof EventTypes.trainingRequested>).data;
      if (!this.#training.has(d.model)) this.#training.set(d.model, 'queued');
    }
  }
  /** Records one event seen by the loop (an input a function took, or a reply it gave). */
  observe(event: FlywheelEvent): void {
    const t = Date.now();
    switch (event.type) {
      case EventTypes.transactionAccepted:
        this.totals.ingested++;
        this.#second.ingested++;
        break;
      case EventTypes.labelAccepted:
        this.totals.labels++;
        break;
      case EventTypes.featuresUpdated:
        this.totals.featurized++;
        break;
      case EventTypes.scoreComputed: {
        const d = (event as FlywheelEvent<typeof EventTypes.scoreComputed>).data;
        this.totals.scored++;
        this.#second.scored++;
        this.#scoredByVersion[d.model.version] = (this.#scoredByVersion[d.model.version] ?? 0) + 1;
        if (d.riskBand === 'high') {
          push(
            this.#highRisk,
            {
              t,
              customerId: d.customerId,
              transactionId: d.transactionId,
              risk: d.risk,
              segment: d.segment,
              version: d.model.version,
            },
            50,
          );
        }
        break;
      }
      case EventTypes.driftMeasured:
      case EventTypes.driftDetected: {
        const d = (event as FlywheelEvent<typeof EventTypes.driftMeasured>).data;
        const detected = event.type === EventTypes.driftDetected;
        this.totals.driftWindows++;
        if (detected) this.totals.detections++;
        const features: Record<string, number> = {};
        for (const [name, stats] of Object.entries(d.features)) {
          const v = stats.psi ?? stats.js ?? stats.jensenShannon;
          if (typeof v === 'number') features[name] = v;
        }
        const p = d.prediction?.psi ?? d.prediction?.js ?? d.prediction?.jensenShannon;
        push(
          this.#drift,
          {
            t,
            model: d.model.name,
            version: d.model.version,
            drifted: d.drifted,
            detected,
            features,
            prediction: typeof p === 'number' ? p : null,
          },
          KEEP,
        );
        if (detected)
          this.#model({
            t,
            kind: 'drift',
            model: d.model.name,
            version: d.model.version,
            detail: (event as FlywheelEvent<typeof EventTypes.driftDetected>).data.reason,
          });
        break;
      }
      case EventTypes.trainingLaunched: {
        const d = (event as FlywheelEvent<typeof EventTypes.trainingLaunched>).data;
        this.#training.set(d.model, `${d.jobName} running`);
        this.#model({ t, kind: 'launched', model: d.model, version: null, detail: d.reason });
        break;
      }
      case EventTypes.trainingFailed: {
        const d = (event as FlywheelEvent<typeof EventTypes.trainingFailed>).data;
        this.#training.set(d.model, 'failed');
        this.#model({ t, kind: 'failed', model: d.model, version: null, detail: d.reason });
        break;
      }
      case EventTypes.modelTrained: {
        const d = (event as FlywheelEvent<typeof EventTypes.modelTrained>).data;
        this.#training.delete(d.model.name);
        this.#model({
          t,
          kind: 'trained',
          model: d.model.name,
          version: d.model.version,
          detail: metricsText(d.metrics),
        });
        break;
      }
      case EventTypes.modelPromoted: {
        const d = (event as FlywheelEvent<typeof EventTypes.modelPromoted>).data;
        if (d.alias === 'champion') this.champions[d.model.name] = d.model.version;
        this.#model({
          t,
          kind: 'promoted',
          model: d.model.name,
          version: d.model.version,
          detail:
            d.previous === null ? `first ${d.alias}` : `${d.alias}: v${d.previous} → v${d.model.version}`,
        });
        break;
      }
      case EventTypes.modelRejected: {
        const d = (event as FlywheelEvent<typeof EventTypes.modelRejected>).data;
        this.#model({
          t,
          kind: 'rejected',
          model: d.model.name,
          version: d.model.version,
          detail: d.reasons.join('; '),
        });
        break;
      }
      default:
        break;
    }
  }

  /** Records how long score took for one event (ms). */
  scoreLatency(ms: number): void {
    push(this.#scoreLatencies, ms, 2000);
  }

  /** Closes the current one-second throughput interval (the runner calls it every second). */
  tick(): void {
    push(this.#throughput, { t: Date.now(), ...this.#second }, KEEP);
    this.#second = { ingested: 0, scored: 0 };
  }

  snapshot(extra: { deadLetters: DeadLetter[]; broker: BrokerStats | null }): LoopSnapshot {
    const last = this.#throughput.slice(-5);
    const eps = last.length === 0 ? 0 : last.reduce((s, x) => s + x.ingested, 0) / last.length;
    return {
      startedAt: this.startedAt,
      now: Date.now(),
      totals: { ...this.totals },
      scoredByVersion: { ...this.#scoredByVersion },
      eventsPerSecond: eps,
      scoreP99Ms: percentile(this.#scoreLatencies, 0.99),
      champions: { ...this.champions },
      training: [...this.#training].map(([model, status]) => `${model}: ${status}`).join(', ') || 'idle',
      throughput: [...this.#throughput],
      drift: [...this.#drift],
      models: [...this.#models],
      highRisk: [...this.#highRisk],
      deadLetters: extra.deadLetters,
      broker: extra.broker,
      source: { ...this.source },
    };
  }

  /** The number of the latest model event (0 before the first). */
  get modelSeq(): number {
    return this.#modelSeq;
  }

  /** The kept model events numbered after `seq`, oldest first: what a reader has not seen since it read `seq`. */
  modelsSince(seq: number): ModelEvent[] {
    return this.#models.filter((e) => e.seq > seq);
  }

  #model(e: Omit<ModelEvent, 'seq'>): void {
    push(this.#models, { seq: ++this.#modelSeq, ...e }, KEEP_MODELS);
  }
}

function push<T>(list: T[], item: T, keep: number): void {
  list.push(item);
  if (list.length > keep) list.splice(0, list.length - keep);
}

function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

function metricsText(m: Record<string, number>): string {
  return Object.entries(m)
    .filter(([k]) => ['rocAuc', 'brier', 'silhouette', 'k'].includes(k))
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(', ');
}
