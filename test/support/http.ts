// Small HTTP helpers for tests: JSON posts, binary-mode CloudEvents, polling until a condition holds (bounded).
import { CloudEvent, HTTP } from 'cloudevents';

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Posts one CloudEvent in binary mode, as a Knative broker delivers it. */
export async function postEvent(
  url: string,
  attrs: { id: string; type: string; source?: string; data: unknown; [ext: string]: unknown },
) {
  const msg = HTTP.binary(new CloudEvent({ source: 'test', datacontenttype: 'application/json', ...attrs }));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) headers[k] = String(v);
  const res = await fetch(url, { method: 'POST', headers, body: msg.body as string });
  const text = await res.text();
  const ce: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k.startsWith('ce-')) ce[k.slice(3)] = v;
  });
  return { status: res.status, ce, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Polls `check` every 20 ms until it returns a value other than undefined, or fails after `limitMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  limitMs = 5000,
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
