// The whole loop in one process: the broker (routing by eventing/ Triggers), every function on its port, the local trainer.
import path from 'node:path';
import type { Hono } from 'hono';
import { detectDriftFunction } from '../functions/detect-drift/function.ts';
import { featurizeFunction } from '../functions/featurize/function.ts';
import { ingestFunction } from '../functions/ingest/function.ts';
import { launchTrainingFunction, localBounds } from '../functions/launch-training/function.ts';
import { LAUNCH_TRAINING_SOURCE, trainingLaunchedEvent } from '../functions/launch-training/handler.ts';
import {
  LOCAL_NAMESPACE,
  localExecutor,
  localOutputDir,
  type TrainerExit,
} from '../functions/launch-training/local-executor.ts';
import { promoteFunction } from '../functions/promote/function.ts';
import { scoreFunction } from '../functions/score/function.ts';
import type { Config } from '../shared/config/index.ts';
import type { EventType, FlywheelEvent, FunctionName, ModelName } from '../shared/events/index.ts';
import { eventLogFromConfig } from '../shared/log/index.ts';
import { FlywheelError } from '../shared/errors/index.ts';
import { ModelRegistry, type ModelVersion } from '../shared/registry/index.ts';
import { type LoopAccess, loopAccess } from '../shared/registry/local-access.ts';
import {
  httpSinkFromConfig,
  type FunctionDefinition,
  type Logger,
  type RunningFunction,
  serve,
} from '../shared/runtime/index.ts';
import { storeFromConfig } from '../shared/store/index.ts';
import { modelTrained, readResult, registerResult, trainingFailed } from '../shared/training/result.ts';
import { createBroker, loadTriggers } from './broker/index.ts';
import { type LoopSnapshot, LoopState } from './state.ts';

/** Port offsets from FLYWHEEL_PORT_BASE (README "Quickstart"): the broker and dashboard on the base, then one port per function. */
export const PORT_OFFSETS: Record<FunctionName | 'broker', number> = {
  broker: 0,
  ingest: 1,
  featurize: 2,
  score: 3,
  'detect-drift': 4,
  'launch-training': 5,
  promote: 6,
};

export interface Loop {
  state: LoopState;
  /** The broker ingress (POST / takes CloudEvents); the dashboard is under it. */
  brokerUrl: string;
  urls: Record<FunctionName, string>;
  registry: ModelRegistry;
  /** promote's URL and the tokens it accepts, also written to `tokensFile` (`<data-dir>/tokens.json`, mode 0600). */
  access: LoopAccess & { tokensFile: string };
  /** Sends an event to the broker as the loop's own (the trainer's results, bootstrap's training requests). */
  publish(event: FlywheelEvent): Promise<void>;
  /** Stops one function's server (connections refused) — what a crashed pod looks like to the broker. */
  stopFunction(name: FunctionName): Promise<void>;
  /** Starts a stopped function again on its port. */
  startFunction(name: FunctionName): Promise<void>;
  /** The loop's picture now, broker stats and dead letters included. */
  snapshot(): LoopSnapshot;
  /** Resolves when the broker has nothing queued or in flight. */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the broker, the six functions and the local trainer executor on the embedded defaults (or Redis/Kafka). */
export async function startLoop(opts: {
  config: Config;
  /** The environment `config` was loaded from: the trainer's child process inherits it. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** The address every server binds (default 127.0.0.1). */
  host?: string;
  /** Extra routes on the broker's port (the dashboard). */
  routes?: (app: Hono, snapshot: () => LoopSnapshot) => void;
  /** Called with every event a function takes in, replies with, or the loop publishes (tests reconcile with it). */
  onEvent?: OnEvent;
}): Promise<Loop> {
  const { config, log } = opts;
  const host = opts.host ?? '127.0.0.1';
  const base = config.FLYWHEEL_PORT_BASE;
  const url = (name: FunctionName | 'broker') => `http://${reachable(host)}:${base + PORT_OFFSETS[name]}`;
  const brokerUrl = `${url('broker')}/`;
  const state = new LoopState();
  const store = storeFromConfig(config, log.child({ part: 'store' }));
  const eventLog = eventLogFromConfig(config, log.child({ part: 'log' }));
  const registry = new ModelRegistry({ store, artifactDir: path.join(config.FLYWHEEL_DATA_DIR, 'models') });
  const sink = httpSinkFromConfig(config, brokerUrl);
  const publish = async (event: FlywheelEvent) => {
    state.observe(event);
    opts.onEvent?.(event, 'out');
    await sink.publish(event);
  };

  // The local trainer: a child process per run; its result is registered here and announced as model.trained. A
  // retriable failure (the registry or the broker down) is thrown back to the executor, which retries with backoff;
  // a version registered before the failure is remembered so the retry only announces it.
  const registered = new Map<string, ModelVersion>();
  const onExit = async (exit: TrainerExit) => {
    const model = exit.model as ModelName;
    if (exit.code !== 0) {
      const reason = `trainer exited with ${exit.code ?? exit.signal} after ${exit.attempts} attempt(s)`;
      log.warn({ model, jobName: exit.jobName }, `training failed: ${reason}`);
      await publish(trainingFailed({ model, reason, jobName: exit.jobName }));
      return;
    }
    let record = registered.get(exit.jobName);
    if (!record) {
      try {
        record = await registerResult(registry, await readResult(exit.outputPath));
      } catch (err) {
        if (err instanceof FlywheelError && err.retriable) throw err;
        log.warn({ err, model }, 'training failed');
        await publish(trainingFailed({ model, reason: (err as Error).message, jobName: exit.jobName }));
        return;
      }
      registered.set(exit.jobName, record);
      log.info({ model, version: record.version }, 'trained model registered');
    }
    await publish(modelTrained(record));
    registered.delete(exit.jobName);
  };
  const executor = localExecutor({
    outputDir: localOutputDir(config.FLYWHEEL_DATA_DIR),
    log: log.child({ part: 'trainer' }),
    env: {
      ...opts.env,
      FLYWHEEL_DATA_DIR: config.FLYWHEEL_DATA_DIR,
      KAFKA_BROKERS: config.KAFKA_BROKERS ?? '',
      LOG_LEVEL: 'warn',
    },
    ...localBounds(config),
    onExit,
    onLaunched: (request, jobName) =>
      publish(
        trainingLaunchedEvent(
          request,
          { jobName, namespace: LOCAL_NAMESPACE },
          { source: LAUNCH_TRAINING_SOURCE, now: Date.now, executor: { kind: 'local' } },
        ),
      ),
  });

  const fnLog = (name: string) => log.child({ function: name });
  // promote's tokens: PROMOTE_TOKEN / REGISTRY_READ_TOKEN when set, random ones otherwise, written for the CLI
  const access = await loopAccess({ config, url: url('promote') });
  const promoteConfig = {
    ...config,
    PROMOTE_TOKEN: access.promoteToken,
    REGISTRY_READ_TOKEN: access.readToken,
  };
  const score = scoreFunction({ store, registry, config, log: fnLog('score'), ownsStore: false });
  const defs: Record<FunctionName, FunctionDefinition<EventType>> = {
    ingest: shared(ingestFunction({ store, eventLog, sink: { publish }, config })),
    featurize: shared(featurizeFunction({ store, config })),
    score: shared(score.def),
    'detect-drift': shared(detectDriftFunction({ store, registry, config, log: fnLog('detect-drift') })),
    'launch-training': launchTrainingFunction({
      executor,
      config,
    }) as unknown as FunctionDefinition<EventType>,
    promote: shared(promoteFunction({ store, registry, config: promoteConfig, log: fnLog('promote') })),
  };
  await score.models.start();

  const running = new Map<FunctionName, RunningFunction>();
  const startFunction = async (name: FunctionName) => {
    if (running.has(name)) return;
    const def = observed(defs[name], state, opts.onEvent);
    running.set(
      name,
      await serve(def, {
        port: base + PORT_OFFSETS[name],
        host,
        log: fnLog(name),
        maxBodyBytes: config.MAX_BODY_BYTES,
        shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
      }),
    );
  };
  for (const name of Object.keys(defs) as FunctionName[]) await startFunction(name);

  const broker = createBroker({
    triggers: await loadTriggers(path.resolve('eventing')),
    resolve: (service) => {
      if (service in PORT_OFFSETS) return url(service as FunctionName);
      throw new Error(`no local function for Service ${service}`);
    },
    queueCapacity: config.BROKER_QUEUE_CAPACITY,
    concurrency: config.BROKER_CONCURRENCY,
    deadLetterFile: path.join(config.FLYWHEEL_DATA_DIR, 'dead-letters.jsonl'),
    log: log.child({ part: 'broker' }),
  });
  const snapshot = () => state.snapshot({ deadLetters: broker.deadLetters(), broker: broker.stats() });
  opts.routes?.(broker.app, snapshot);
  await broker.listen({ port: base, host });
  const ticker = setInterval(() => state.tick(), 1000);
  ticker.unref();
  for (const m of ['risk', 'segment'] as const) state.champions[m] = await registry.alias(m, 'champion');

  return {
    state,
    brokerUrl,
    urls: Object.fromEntries((Object.keys(defs) as FunctionName[]).map((n) => [n, url(n)])) as Record<
      FunctionName,
      string
    >,
    registry,
    access,
    publish,
    async stopFunction(name) {
      const fn = running.get(name);
      running.delete(name);
      await fn?.close();
    },
    startFunction,
    snapshot,
    whenIdle: () => broker.whenIdle(),
    async stop() {
      clearInterval(ticker);
      await broker.stop({ graceMs: 3000 });
      for (const fn of running.values()) await fn.close();
      running.clear();
      await executor.close?.();
      await score.models.close();
      await eventLog.close();
      await store.close();
    },
  };
}

/** Sees an event a function took in ('in'), or one a function replied with or the loop published ('out'). */
export type OnEvent = (event: FlywheelEvent, direction: 'in' | 'out') => void;

/** The address to reach a server bound to `host` at: loopback for a wildcard bind, brackets for IPv6. */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The store and log are shared by every function here: closing is the loop's job, not each function's. */
function shared<A extends EventType>(def: FunctionDefinition<A>): FunctionDefinition<EventType> {
  return { ...def, close: async () => {} } as unknown as FunctionDefinition<EventType>;
}

/** Wraps a function so the loop's state sees every event it takes and every reply it gives (and score's latency). */
function observed(
  def: FunctionDefinition<EventType>,
  state: LoopState,
  onEvent?: OnEvent,
): FunctionDefinition<EventType> {
  return {
    ...def,
    async handle(event, ctx) {
      const started = performance.now();
      const outcome = await def.handle(event, ctx);
      onEvent?.(event, 'in');
      if (outcome.kind === 'reply') onEvent?.(outcome.event, 'out');
      if (def.name === 'score') state.scoreLatency(performance.now() - started);
      if (def.name === 'launch-training' && outcome.kind === 'accepted')
        state.trainingAnswer(event, outcome.detail);
      if (outcome.kind === 'reply') state.observe(outcome.event);
      return outcome;
    },
  };
}
