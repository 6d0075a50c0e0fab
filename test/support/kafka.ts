// A real Kafka-protocol broker for tests: librdkafka's mock cluster run through kcat (see TESTING.md).
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { createKafkaEventLog } from '../../shared/log/kafka.ts';
import { createLogger } from '../../shared/runtime/logger.ts';

export interface KafkaBroker {
  /** `127.0.0.1:PORT`, for KAFKA_BROKERS. */
  brokers: string;
  /**
   * Freezes the broker process (SIGSTOP): connections stay open and nothing answers, like a hung broker.
   * Resolves once every thread of it has stopped (a stop is not instant, and the mock answers in microseconds).
   */
  pause(): Promise<void>;
  /** Lets a paused broker run again (SIGCONT); its topics and committed offsets are intact. */
  resume(): void;
  /** Kills the broker (its data goes with it) and waits for the process to end. */
  stop(): Promise<void>;
}

/**
 * Starts a private mock cluster (one broker; topics auto-created with 4 partitions on first use) and waits
 * until a client can talk to it. The mock picks its own port; with `port`, the broker is also reachable at
 * 127.0.0.1:`port` through a forwarder, so a fault test can bring "the same broker address" back after a
 * stop. Fails with an install hint when kcat is missing.
 */
export async function startKafka(opts: { port?: number } = {}): Promise<KafkaBroker> {
  const child = spawn('kcat', ['-b', 'unused:9092', '-C', '-t', '_', '-q', '-X', 'test.mock.num.brokers=1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let mockAddress: string;
  try {
    mockAddress = await bootstrapAddress(child);
  } catch (err) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw err;
  }
  const forwarder = opts.port === undefined ? undefined : await forward(opts.port, mockAddress);
  const brokers = forwarder ? `127.0.0.1:${opts.port}` : mockAddress;
  const broker: KafkaBroker = {
    brokers,
    async pause() {
      child.kill('SIGSTOP');
      if (child.pid !== undefined) await allThreadsStopped(child.pid);
    },
    resume: () => child.kill('SIGCONT'),
    async stop() {
      await forwarder?.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      process.off('exit', killOnExit);
    },
  };
  try {
    await waitUntilReachable(brokers);
  } catch (err) {
    await broker.stop();
    throw err;
  }
  return broker;
}

/** Waits until /proc shows every thread of `pid` stopped (state T), for up to 5 s. */
export async function allThreadsStopped(pid: number): Promise<void> {
  const state = async (task: string) =>
    (await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8')).split(') ')[1]?.[0];
  for (const until = Date.now() + 5_000; Date.now() < until; ) {
    const states = await Promise.all((await readdir(`/proc/${pid}/task`)).map(state));
    if (states.every((s) => s === 'T')) return;
    await new Promise((done) => setTimeout(done, 1));
  }
  throw new Error(`the broker process ${pid} did not stop within 5 s`);
}

/** Reads `127.0.0.1:PORT` from kcat's start-up notice; stderr keeps being drained afterwards. */
function bootstrapAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`kcat printed no mock broker address in 10 s:\n${text}`)),
      10_000,
    );
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT' ? new Error('kcat not found: apt-get install -y kcat', { cause: err }) : err,
      );
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kcat exited (${code}) before the mock broker started:\n${text}`));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (text.length < 10_000) text += chunk.toString();
      const match = /(?:replaced with |bootstrap\.servers=)(127\.0\.0\.1:\d+)/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

/** Waits until the adapter's ping (a metadata request through kafkajs) succeeds, for up to 10 s. */
async function waitUntilReachable(brokers: string): Promise<void> {
  const log = createLogger({ name: 'kafka-probe', level: 'silent' });
  const probe = createKafkaEventLog({
    brokers: [brokers],
    topic: '_',
    clientId: 'probe',
    timeoutMs: 1_000,
    log,
  });
  try {
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      if (await probe.ping()) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`the mock broker at ${brokers} did not answer within 10 s`);
  } finally {
    await probe.close();
  }
}

/** Listens on 127.0.0.1:`port` and pipes every connection to `target`. */
async function forward(port: number, target: string): Promise<{ close(): Promise<void> }> {
  const [host = '127.0.0.1', targetPort = '0'] = target.split(':');
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(targetPort), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
