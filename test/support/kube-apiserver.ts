// A real Kubernetes API server for tests: kube-apiserver and etcd built from the Go module proxy (the module in
// test/support/kube), cached in .cache/kube/<version>, started on free loopback ports, never left running.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { spawnWatched, type WatchedProcess } from './watched-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODULE = join(ROOT, 'test', 'support', 'kube');

/** The Kubernetes release the API server is built from: `k8s.io/kubernetes` in test/support/kube/go.mod. */
export const KUBE_VERSION = (() => {
  const found = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(readFileSync(join(MODULE, 'go.mod'), 'utf8'));
  if (!found?.[1]) throw new Error('test/support/kube/go.mod names no k8s.io/kubernetes version');
  return found[1];
})();

/** Where the built binaries are kept between runs (gitignored). */
export const kubeBin = (version = KUBE_VERSION): string => join(ROOT, '.cache', 'kube', version);

const BINARIES = {
  'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
  etcd: './etcd',
} as const;

/**
 * Builds kube-apiserver and etcd with `go build` into {@link kubeBin} unless they are there already; resolves to
 * their paths. A build goes to a temporary name and is renamed into place, so test files that build at once do
 * not see half a binary. Throws with what to install when Go is missing.
 */
export async function buildKube(): Promise<{ apiserver: string; etcd: string }> {
  const dir = kubeBin();
  await mkdir(dir, { recursive: true });
  for (const [name, pkg] of Object.entries(BINARIES)) {
    const target = join(dir, name);
    if (existsSync(target)) continue;
    if (spawnSync('go', ['version'], { stdio: 'ignore' }).error) {
      throw new Error(
        `building ${name} needs Go ≥ 1.25 (install it from go.dev or your distribution) and the Go module proxy`,
      );
    }
    const partial = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
    const built = spawnSync(
      'go',
      ['build', '-trimpath', '-buildvcs=false', '-ldflags', versionFlags(), '-o', partial, pkg],
      {
        cwd: MODULE,
        encoding: 'utf8',
        env: { ...process.env, CGO_ENABLED: '0' },
      },
    );
    if (built.status !== 0) {
      await rm(partial, { force: true });
      throw new Error(`go build ${pkg} failed (exit ${built.status}):\n${built.stderr}`);
    }
    await rename(partial, target);
  }
  return { apiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
}

/** Stamps the release into the binary as Kubernetes' own build does (`kube-apiserver --version`, /version). */
function versionFlags(): string {
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(KUBE_VERSION) ?? [];
  const pkg = 'k8s.io/component-base/version';
  return [
    `-X ${pkg}.gitVersion=${KUBE_VERSION}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].join(' ');
}

/** A ServiceAccount the server knows a static token for. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** What the server answered: status and the parsed JSON body (or the text when it is not JSON). */
export interface KubeResponse {
  status: number;
  body: unknown;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  /** The serving certificate's CA bundle (kube-apiserver generates it in its cert directory). */
  ca: string;
  /** A kubeconfig file for `identity` (default: the admin, in system:masters). */
  kubeconfig(identity?: ServiceAccountRef): string;
  /** The static token of a ServiceAccount named when the server started. */
  tokenOf(account: ServiceAccountRef): string;
  /** One request as `identity` (default: the admin). */
  request(
    method: string,
    path: string,
    opts?: { body?: unknown; as?: ServiceAccountRef; contentType?: string },
  ): Promise<KubeResponse>;
  /** Runs kubectl against this server as the admin; resolves with its exit code and output. */
  kubectl(args: readonly string[], input?: string): { code: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

const userOf = (a: ServiceAccountRef) => `system:serviceaccount:${a.namespace}:${a.name}`;

/**
 * Starts etcd and kube-apiserver on free loopback ports in a temporary directory: a static token per identity
 * (an admin in system:masters, and each of `serviceAccounts` as the user and groups Kubernetes gives a
 * ServiceAccount), RBAC authorization, the default admission plugins (PodSecurity, ServiceAccount,
 * NamespaceLifecycle among them), a generated ServiceAccount signing key and a self-signed serving certificate.
 * Resolves once /readyz answers ok. No controller runs: nothing is scheduled, garbage-collected or finalised.
 */
export async function startKubeApiServer(
  opts: { serviceAccounts?: readonly ServiceAccountRef[] } = {},
): Promise<KubeApiServer> {
  const bin = await buildKube();
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-kube-'));
  const processes: WatchedProcess[] = [];
  const stopAll = async () => {
    for (const p of processes.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, port] = await distinctPorts(3);
    const etcd = await spawnWatched(dir, [
      bin.etcd,
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    ]);
    processes.push(etcd);

    const token = () => randomBytes(24).toString('base64url');
    const admin = token();
    const tokens = new Map((opts.serviceAccounts ?? []).map((a) => [userOf(a), token()]));
    const lines = [`${admin},flywheel-admin,admin,system:masters`];
    for (const [user, t] of tokens) {
      const namespace = user.split(':')[2];
      lines.push(`${t},${user},${user},"system:serviceaccounts,system:serviceaccounts:${namespace}"`);
    }
    await writeFile(join(dir, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    const apiserver = await spawnWatched(dir, [
      bin.apiserver,
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--anonymous-auth=false',
      '--authorization-mode=RBAC',
      '--enable-admission-plugins=PodSecurity,ServiceAccount,NamespaceLifecycle,LimitRanger,ResourceQuota',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=0',
    ]);
    processes.push(apiserver);

    const url = `https://127.0.0.1:${port}`;
    const ca = await waitForFile(join(dir, 'certs', 'apiserver.crt'), apiserver);
    const caFile = join(dir, 'certs', 'apiserver.crt');
    const tokenOf = (account: ServiceAccountRef) => {
      const t = tokens.get(userOf(account));
      if (!t)
        throw new Error(`no token for ${userOf(account)}: name it in startKubeApiServer's serviceAccounts`);
      return t;
    };
    const kubeconfigs = new Map<string, string>();
    const kubeconfig = (identity?: ServiceAccountRef) => {
      const user = identity ? userOf(identity) : 'flywheel-admin';
      let file = kubeconfigs.get(user);
      if (!file) {
        file = join(dir, `kubeconfig-${kubeconfigs.size}.json`);
        const config = {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': caFile } }],
          users: [{ name: user, user: { token: identity ? tokenOf(identity) : admin } }],
          contexts: [{ name: 'test', context: { cluster: 'test', user } }],
          'current-context': 'test',
        };
        writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
        kubeconfigs.set(user, file);
      }
      return file;
    };
    const call: KubeApiServer['request'] = (method, path, o = {}) =>
      new Promise((resolve, reject) => {
        const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
        const req = request(
          `${url}${path}`,
          {
            method,
            ca,
            headers: {
              authorization: `Bearer ${o.as ? tokenOf(o.as) : admin}`,
              accept: 'application/json',
              ...(payload ? { 'content-type': o.contentType ?? 'application/json' } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              text += d;
            });
            res.on('end', () => {
              let body: unknown = text;
              try {
                body = JSON.parse(text);
              } catch {}
              resolve({ status: res.statusCode ?? 0, body });
            });
          },
        );
        req.on('error', reject);
        // a watch the server grants streams forever: no request outlives this
        req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
        req.end(payload);
      });

    await waitUntilReady(call, apiserver);
    return {
      url,
      ca,
      kubeconfig,
      tokenOf,
      request: call,
      kubectl(args, input) {
        const run = spawnSync('kubectl', ['--kubeconfig', kubeconfig(), ...args], {
          encoding: 'utf8',
          input,
          maxBuffer: 64 << 20,
        });
        if (run.error) throw new Error(`kubectl: ${run.error.message} (install kubectl ≥ 1.27)`);
        return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** The serving certificate kube-apiserver writes at start-up, read once it is there (60 s at most). */
async function waitForFile(file: string, server: WatchedProcess): Promise<string> {
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(100)) {
    if (!server.alive()) throw new Error(`kube-apiserver exited:\n${server.output()}`);
    if (existsSync(file)) {
      const text = await readFile(file, 'utf8');
      if (text.includes('END CERTIFICATE')) return text;
    }
  }
  throw new Error(`kube-apiserver wrote no ${file} within 60 s:\n${server.output()}`);
}

/** Polls /readyz as the admin until it answers 200 (every post-start hook done), for up to 180 s. */
async function waitUntilReady(call: KubeApiServer['request'], server: WatchedProcess): Promise<void> {
  let last = '';
  for (const until = Date.now() + 180_000; Date.now() < until; await sleep(250)) {
    if (!server.alive()) throw new Error(`kube-apiserver exited:\n${server.output()}`);
    try {
      const res = await call('GET', '/readyz');
      if (res.status === 200) return;
      last = `${res.status} ${String(res.body).slice(0, 500)}`;
    } catch (err) {
      last = String(err);
    }
  }
  throw new Error(`kube-apiserver not ready within 180 s (last: ${last}):\n${server.output()}`);
}
