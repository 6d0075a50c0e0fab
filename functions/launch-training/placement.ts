// Where a training request goes: started now, folded into a run that already covers its evidence, or queued.
import type { ModelName, TimeRange } from '../../shared/events/index.ts';

/** A run as placement sees it: started or waiting, named by its Job name, training on `range`. */
export interface PlannedRun {
  jobName: string;
  model: ModelName;
  range: TimeRange;
}

/** What the executor holds now: its runs, its queue (oldest first) and its bounds. */
export interface Occupancy {
  running: readonly PlannedRun[];
  queued: readonly PlannedRun[];
  /** At most this many runs at once, across models (TRAINING_MAX_RUNS). */
  maxRuns: number;
  /** At most this many requests waiting, across models (TRAINING_MAX_QUEUED). */
  maxQueued: number;
}

export type Placement =
  /** Start it now. */
  | { kind: 'start' }
  /** A run (started or waiting) already trains on data that includes this request's evidence. */
  | { kind: 'coalesced'; into: PlannedRun }
  /** Wait: behind the model's own run, or for a free slot. Queued runs it covers are dropped in its favour. */
  | { kind: 'queued'; behind: string; supersedes: PlannedRun[] }
  /** The queue is full: answer 429 so the sender retries later. */
  | { kind: 'full'; queued: number };

/**
 * True when a run on `run` saw the evidence a request on `evidence` stands for: the request's newest data
 * (`evidence.to`, the drift window's end or the requested range's end) lies inside the run's range.
 */
export function covers(run: TimeRange, evidence: TimeRange): boolean {
  return run.from <= evidence.to && evidence.to <= run.to;
}

/**
 * Places a request. One run per model at a time and at most maxRuns in all; a request whose evidence a run of its
 * model (running or queued) already covers is coalesced into it; otherwise it waits, and replaces the queued runs of
 * its model that it covers (its range reaches further, so their evidence is trained on). Nothing is dropped that no
 * other run covers: when the queue cannot take it, the answer is `full` (429, retried by the sender).
 */
export function place(request: PlannedRun, o: Occupancy): Placement {
  const own = (r: PlannedRun) => r.model === request.model;
  const running = o.running.find(own);
  if (running && covers(running.range, request.range)) return { kind: 'coalesced', into: running };
  const waiting = o.queued.filter(own);
  const into = waiting.find((q) => covers(q.range, request.range));
  if (into) return { kind: 'coalesced', into };
  if (!running && waiting.length === 0 && o.running.length < o.maxRuns) return { kind: 'start' };
  const supersedes = waiting.filter((q) => covers(request.range, q.range));
  if (o.queued.length - supersedes.length >= o.maxQueued) return { kind: 'full', queued: o.queued.length };
  return { kind: 'queued', behind: behindOf(request.model, o), supersedes };
}

/**
 * The queued run to start next, if a slot is free: the oldest whose model has no run in progress (runs of one model
 * start in the order they were queued).
 */
export function nextToStart(o: Pick<Occupancy, 'running' | 'queued' | 'maxRuns'>): PlannedRun | undefined {
  if (o.running.length >= o.maxRuns) return undefined;
  return o.queued.find((q) => !o.running.some((r) => r.model === q.model));
}

/** What a queued run of `model` waits for: the model's run in progress, or the runs holding every slot. */
export function behindOf(model: string, o: Pick<Occupancy, 'running'>): string {
  return o.running.find((r) => r.model === model)?.jobName ?? o.running.map((r) => r.jobName).join(', ');
}
