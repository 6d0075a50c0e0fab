// Browser-side dead-letter panel: the broker's dead letters with their knativeerror* attributes, and its stats.
import type { BrokerStats, DeadLetter } from '../../broker/index.ts';
import { clock, empty, figure, h, int, str } from './dom.ts';

const ROWS = 20;

/** Decodes knativeerrordata (base64 of the subscriber's response body) into a short reason. */
export function errorReason(data: unknown): string {
  if (typeof data !== 'string' || data === '') return '';
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    text = new TextDecoder().decode(bytes);
  } catch {
    return data;
  }
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object') {
      const p = body as Record<string, unknown>;
      const detail = str(p.detail ?? p.message ?? p.error);
      if (detail) return [str(p.title), detail].filter(Boolean).join(': ');
    }
  } catch {
    // not JSON (or cut at 1024 characters): the text itself is the reason
  }
  return text;
}

function codeBadge(code: unknown): HTMLElement {
  const n = Number(code);
  const cls = n >= 400 && n < 500 ? 'client' : 'server';
  return h('span', { class: `code ${cls}`, data: { code: str(code) } }, str(code));
}

function lettersTable(letters: readonly DeadLetter[]): Node {
  if (letters.length === 0)
    return empty('No dead letters: every delivery was taken or is still being retried.');
  const rows = [...letters]
    .reverse()
    .slice(0, ROWS)
    .map((l) => {
      const e = l.event;
      const type = str(e.type);
      const reason = errorReason(e.knativeerrordata);
      return h(
        'tr',
        null,
        h('td', { class: 'muted' }, clock(Date.parse(l.at))),
        h('td', null, l.trigger),
        h('td', { title: type }, type.replace(/^dev\.flywheel\./, '')),
        h('td', { class: 'id', title: str(e.id) }, str(e.id)),
        h('td', null, codeBadge(e.knativeerrorcode)),
        h('td', { class: 'id', title: str(e.knativeerrordest) }, str(e.knativeerrordest)),
        h(
          'td',
          { class: 'reason' },
          h('div', null, reason || '–'),
          h(
            'div',
            { class: 'muted small' },
            `${l.reason} · ${l.attempts} attempt${l.attempts === 1 ? '' : 's'}`,
          ),
        ),
      );
    });
  const head = h(
    'tr',
    null,
    ...['time', 'trigger', 'type', 'id', 'code', 'destination', 'reason'].map((c) => h('th', null, c)),
  );
  return h('table', { class: 'table letters' }, h('thead', null, head), h('tbody', null, ...rows));
}

function statsBlock(stats: BrokerStats | null): Node {
  if (!stats) return empty('Broker statistics unavailable.');
  const summary = h(
    'div',
    { class: 'figs' },
    figure(int(stats.accepted), 'accepted', { broker: 'accepted' }),
    figure(int(stats.rejected), 'rejected (400)', { broker: 'rejected' }),
    figure(int(stats.refused), 'refused (429)', { broker: 'refused' }),
    figure(int(stats.unrouted), 'unrouted', { broker: 'unrouted' }),
    figure(`${int(stats.queued)} / ${int(stats.queueCapacity)}`, 'queued', { broker: 'queued' }),
    figure(int(stats.inFlight), 'in flight', { broker: 'in-flight' }),
  );
  const cols = ['trigger', 'accepted', 'delivered', 'retried', 'dead-lettered', 'queued'];
  const rows = stats.triggers.map((t) =>
    h(
      'tr',
      { data: { trigger: t.name } },
      h('td', { title: t.subscriber }, t.name),
      h('td', { class: 'num' }, int(t.accepted)),
      h('td', { class: 'num' }, int(t.delivered)),
      h('td', { class: 'num' }, int(t.retried)),
      h('td', { class: t.deadLettered > 0 ? 'num bad' : 'num' }, int(t.deadLettered)),
      h('td', { class: 'num' }, int(t.queued)),
    ),
  );
  const table = h(
    'table',
    { class: 'table compact' },
    h('thead', null, h('tr', null, ...cols.map((c, i) => h('th', { class: i === 0 ? '' : 'num' }, c)))),
    h('tbody', null, ...rows),
  );
  return h('div', { class: 'broker' }, h('h3', null, 'Broker'), summary, table);
}

/** The dead-letter table (newest first) above the broker's counters per trigger. */
export function deadLetterPanel(letters: readonly DeadLetter[], stats: BrokerStats | null): Node {
  const frag = document.createDocumentFragment();
  frag.append(lettersTable(letters), statsBlock(stats));
  return frag;
}
