// REDIS_URL: one server (`redis://`, `rediss://`) or a cluster (`redis+cluster://host:port,host:port`), parsed once.

/** One cluster node as the client dials it. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** What REDIS_URL names: a single server (its URL as given) or a cluster's seed nodes with the shared credentials. */
export type RedisTarget =
  | { kind: 'single'; url: string; node: NodeAddress }
  | {
      kind: 'cluster';
      nodes: NodeAddress[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    };

const DEFAULT_PORT = 6379;
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?$/;

/**
 * Parses REDIS_URL. `redis+cluster://[user[:password]@]host:port,host:port[/0]` (or `rediss+cluster://` for TLS)
 * names a cluster by some of its nodes; the client discovers the rest. Credentials apply to every node. Throws an
 * Error saying what is wrong, for the config check.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = CLUSTER_URL.exec(url);
  if (cluster) {
    const [, scheme, userinfo, hosts = '', path] = cluster;
    if (path !== undefined && path !== '/' && path !== '/0') {
      throw new Error(`a Redis Cluster has only database 0, not ${path.slice(1)}`);
    }
    const colon = userinfo === undefined ? -1 : userinfo.indexOf(':');
    const user = userinfo === undefined ? undefined : colon < 0 ? userinfo : userinfo.slice(0, colon);
    const password = userinfo === undefined || colon < 0 ? undefined : userinfo.slice(colon + 1);
    return {
      kind: 'cluster',
      nodes: hosts.split(',').map(parseNode),
      username: user === undefined || user === '' ? undefined : decodeURIComponent(user),
      password: password === undefined || password === '' ? undefined : decodeURIComponent(password),
      tls: scheme === 'rediss',
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new Error('not a URL: expected redis://host:port or redis+cluster://host:port,host:port', {
      cause,
    });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(
      `unsupported scheme ${parsed.protocol} (redis:, rediss:, redis+cluster:, rediss+cluster:)`,
    );
  }
  const port = parsed.port === '' ? DEFAULT_PORT : Number(parsed.port);
  return { kind: 'single', url, node: { host: unbracket(parsed.hostname), port } };
}

function parseNode(text: string): NodeAddress {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(text.trim());
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`not a host:port: '${text}'`);
  }
  return { host: unbracket(m[1]), port };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `host:port`, IPv6 hosts in brackets. */
export function formatNode(node: NodeAddress): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}

/** What the start-up log says about a target: single or cluster, the URL and its nodes, password replaced by ***. */
export function describeTarget(target: RedisTarget): {
  mode: 'single' | 'cluster';
  redis: string;
  nodes: string[];
} {
  if (target.kind === 'single') {
    return { mode: 'single', redis: redactUrl(target.url), nodes: [formatNode(target.node)] };
  }
  const nodes = target.nodes.map(formatNode);
  const user = target.username === undefined ? '' : encodeURIComponent(target.username);
  const auth = target.password === undefined ? (user === '' ? '' : `${user}@`) : `${user}:***@`;
  const scheme = target.tls ? 'rediss+cluster' : 'redis+cluster';
  return { mode: 'cluster', redis: `${scheme}://${auth}${nodes.join(',')}`, nodes };
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}
