// A real Apache Kafka broker for tests: the broker's jars from Maven Central, cached, run as one KRaft node.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKafkaEventLog } from '../../shared/log/kafka.ts';
import { DEFAULT_PARTITIONS } from '../../shared/log/types.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { allThreadsStopped, type KafkaBroker } from './kafka.ts';
import { freePort } from './ports.ts';
import { spawnWatched, type WatchedProcess } from './watched-process.ts';

/**
 * The Apache Kafka versions the adapter is tested against: the newest 4.x that Maven Central serves here, and
 * the newest 3.x (the last line that still serves the protocol versions KIP-896 removed in 4.0).
 */
export const KAFKA_VERSIONS = { current: '4.4.0', previous: '3.9.2' } as const;

/** Both lines log through slf4j-api 1.7.36 and ship no binding; this one prints WARN and above to stderr. */
const SLF4J_SIMPLE = 'org.slf4j:slf4j-simple:1.7.36';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_HINT = 'apt-get install -y openjdk-17-jre-headless maven';

/** Where a version's jars are kept between runs: `<repo>/.cache/kafka/<version>/libs` (gitignored). */
export const kafkaLibs = (version: string): string => join(ROOT, '.cache', 'kafka', version, 'libs');

/**
 * Resolves `org.apache.kafka:kafka_2.13:<version>` and its runtime dependencies with Maven into the cache
 * folder, once: a later call finds the folder and returns at once (Maven's own ~/.m2 keeps the downloads too).
 * Safe to call from several processes at once: each copies into its own folder and renames it into place.
 */
export async function resolveKafka(version: string): Promise<string> {
  const libs = kafkaLibs(version);
  if (existsSync(libs)) return libs;
  await requireTool('java', ['-version']);
  await requireTool('mvn', ['-v']);
  const work = `${libs}.${process.pid}`;
  await mkdir(work, { recursive: true });
  const pom = join(work, 'pom.xml');
  await writeFile(pom, pomFor(version));
  const out = join(work, 'libs');
  const args = ['-B', '-ntp', '-f', pom, `${DEPENDENCY_PLUGIN}:copy-dependencies`];
  const mvn = await run('mvn', [...args, `-DoutputDirectory=${out}`, '-DincludeScope=runtime']);
  if (mvn.code !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new Error(
      `mvn could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${mvn.code}):\n${mvn.output.slice(-4_000)}`,
    );
  }
  await rename(out, libs).catch((err: NodeJS.ErrnoException) => {
    if (!existsSync(libs)) throw err; // another process got there first: its copy is as good
  });
  await rm(work, { recursive: true, force: true });
  return libs;
}

function pomFor(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  const [g = '', a = '', v = ''] = SLF4J_SIMPLE.split(':');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>flywheel.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', 'kafka_2.13', version)}
    ${dep(g, a, v)}
  </dependencies>
</project>
`;
}

/** A started Apache Kafka broker (`pid`: its JVM); `stop()` also removes its data directory. */
export type ApacheKafka = KafkaBroker & {
  version: string;
  /** The running JVM's pid (a new one after restart). */
  readonly pid: number;
  /** Kills the JVM at once (SIGKILL), as a crash does; its data directory stays for restart(). */
  crash(): Promise<void>;
  /** Starts the broker again on the same ports and data (stopping it first if it runs); resolves once it serves. */
  restart(): Promise<void>;
};

/**
 * Starts a single-node Apache Kafka (broker and controller in one process, KRaft) on free loopback ports in a
 * temporary directory: resolves the jars, formats the storage with the broker's own StorageTool, runs
 * `kafka.Kafka server.properties`, and waits until it serves a round trip through the adapter. The broker does
 * not auto-create topics (`auto.create.topics.enable=false`, as operators often run it) and defaults to one
 * partition, so a client that relies on auto-creation or on the broker's defaults fails here. Throws with the install command when Java or Maven is missing.
 */
export async function startApacheKafka(
  opts: {
    version?: string;
    /** `group.initial.rebalance.delay.ms`: 0 here, so groups join at once; Kafka's own default is 3000. */
    groupInitialRebalanceDelayMs?: number;
  } = {},
): Promise<ApacheKafka> {
  const version = opts.version ?? KAFKA_VERSIONS.current;
  const libs = await resolveKafka(version);
  const dir = await mkdtemp(join(tmpdir(), `flywheel-kafka-${version}-`));
  try {
    const port = await freePort();
    let controller = await freePort();
    while (controller === port) controller = await freePort();
    const config = join(dir, 'server.properties');
    await writeFile(
      config,
      serverProperties({
        port,
        controller,
        dataDir: join(dir, 'data'),
        groupDelayMs: opts.groupInitialRebalanceDelayMs ?? 0,
      }),
    );
    const classpath = `${libs}/*`;
    const clusterId = randomClusterId();
    const storageTool = ['-cp', classpath, 'kafka.tools.StorageTool'];
    const format = await run('java', [
      ...jvm('128m'),
      ...storageTool,
      'format',
      '-t',
      clusterId,
      '-c',
      config,
    ]);
    if (format.code !== 0)
      throw new Error(`kafka-storage format failed (exit ${format.code}):\n${format.output}`);
    const command = ['java', ...jvm('384m'), '-cp', classpath, 'kafka.Kafka', config];
    const brokers = `127.0.0.1:${port}`;
    const serve = async () => {
      const started = await spawnWatched(dir, command);
      try {
        await waitUntilServing(brokers, started);
      } catch (err) {
        await started.stop();
        throw err;
      }
      return started;
    };
    let server = await serve();
    return {
      version,
      get pid() {
        return server.pid;
      },
      brokers,
      async pause() {
        server.signal('SIGSTOP');
        await allThreadsStopped(server.pid);
      },
      resume: () => server.signal('SIGCONT'),
      async crash() {
        await server.kill();
      },
      async restart() {
        await server.stop();
        server = await serve();
      },
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A Kafka cluster id as `kafka-storage random-uuid` makes one: 16 random bytes, base64url without padding, never
 * starting with '-' (Kafka's Uuid.randomUuid rejects those too: a command line would read it as an option).
 */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A small, quick-starting JVM: a test broker holds little data and lives for seconds. */
const jvm = (heap: string) => [
  `-Xmx${heap}`,
  '-Xss512k',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
];

/** One node that is broker and controller; every internal topic with one replica. */
const serverProperties = (a: {
  port: number;
  controller: number;
  dataDir: string;
  groupDelayMs: number;
}) => `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${a.controller}
listeners=PLAINTEXT://127.0.0.1:${a.port},CONTROLLER://127.0.0.1:${a.controller}
advertised.listeners=PLAINTEXT://127.0.0.1:${a.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${a.dataDir}
auto.create.topics.enable=false
num.partitions=1
log.retention.check.interval.ms=1000
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=${a.groupDelayMs}
num.network.threads=2
num.io.threads=2
`;

/**
 * Waits until the broker serves what the tests use, for up to 90 s: the adapter's ping (a metadata request),
 * then one record appended to a warm-up topic and read back through a consumer group, which creates
 * `__consumer_offsets` and waits for its coordinator to load (a group call before that is refused with
 * COORDINATOR_LOAD_IN_PROGRESS).
 */
async function waitUntilServing(brokers: string, server: WatchedProcess): Promise<void> {
  const log = createLogger({ name: 'kafka-probe', level: 'silent' });
  const probe = createKafkaEventLog({
    brokers: [brokers],
    topic: '_ready',
    clientId: 'probe',
    timeoutMs: 1_000,
    log,
  });
  const record = { key: 'ready', id: 'ready', source: '/test', type: 'ready', time: 0, value: '{}' };
  const roundTrip = async () => {
    if (!(await probe.ping())) return false;
    await probe.append([record]);
    const all = Array.from({ length: DEFAULT_PARTITIONS }, (_, partition) => ({ partition, from: '0' }));
    return (await probe.readOffsets(all)).some((r) => r.id === record.id);
  };
  let last: unknown;
  try {
    for (const until = Date.now() + 90_000; Date.now() < until; await sleep(200)) {
      if (!server.alive()) throw new Error(`the Kafka broker exited while starting:\n${server.output()}`);
      const ok = await roundTrip().catch((err: unknown) => {
        last = err;
        return false;
      });
      if (ok) return;
    }
    throw new Error(
      `the Kafka broker at ${brokers} did not serve within 90 s (last: ${String(last)}):\n${server.output()}`,
    );
  } finally {
    await probe.close();
  }
}

/** Fails with the install command when `tool` is not on PATH or does not run. */
async function requireTool(tool: string, args: string[]): Promise<void> {
  const probe = await run(tool, args).catch((err: unknown) => ({ code: -1, output: String(err) }));
  if (probe.code !== 0) {
    throw new Error(
      `${tool} is needed to run the Apache Kafka broker in tests and did not run (${probe.output.trim()}): ${INSTALL_HINT}`,
    );
  }
}

/** Runs a command to completion; its stdout and stderr together, and its exit code. */
function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-100_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(`${command} not found on PATH`, { cause: err }) : err),
    );
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
