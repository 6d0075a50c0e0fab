// The human forms of `flywheel models` and `flywheel status`: aligned tables and key/value blocks.
import type { StatusView, VersionView } from './api.ts';
import type { HistoryEntry } from './schemas.ts';

/** Rows under a header, each column padded to its widest cell (two spaces apart, the last one unpadded). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const dash = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `v${v}`);

/** Metrics as `name=value`, four significant digits. */
export const metricsText = (metrics: Readonly<Record<string, number>>): string =>
  Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`)
    .join(' ');

/** `flywheel models list`: one row per version. */
export function versionRows(versions: readonly VersionView[]): string[] {
  return table(
    ['MODEL', 'VERSION', 'ALIASES', 'CREATED', 'FEATURE SET', 'TRAINED ON', 'BACKEND', 'METRICS'],
    versions.map((v) => [
      v.name,
      `v${v.version}`,
      v.aliases.join(',') || '—',
      iso(v.createdAt),
      `${v.lineage.featureSet.name}@${v.lineage.featureSet.version}`,
      `${day(v.lineage.dataRange.from)}..${day(v.lineage.dataRange.to)}`,
      v.lineage.backend.name,
      metricsText(v.metrics) || '—',
    ]),
  );
}

/** `flywheel models show`: one version's detail. */
export function versionBlock(v: VersionView): string[] {
  const l = v.lineage;
  const rows: [string, string][] = [
    ['model', `${v.name} v${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`],
    ['created', iso(v.createdAt)],
    ['metrics', metricsText(v.metrics) || '—'],
    ['feature set', `${l.featureSet.name}@${l.featureSet.version} (${l.featureSet.columns.length} columns)`],
    ['trained on', `${iso(l.dataRange.from)} .. ${iso(l.dataRange.to)}`],
    ['holdout', l.holdoutRange ? `${iso(l.holdoutRange.from)} .. ${iso(l.holdoutRange.to)}` : '—'],
    ['backend', `${l.backend.name}${l.backend.reason ? ` (${l.backend.reason})` : ''}`],
    ['code version', l.codeVersion],
    ['trained by', l.trainedBy],
    ['hyper-params', metricsTextLoose(l.hyperParameters) || '—'],
    ['drift baseline', l.hasBaseline ? 'yes' : 'no'],
    ['holdout rows', v.hasHoldout ? 'kept' : 'none'],
    ['signature', `${v.signature.inputName}[${v.signature.width}] -> ${v.signature.outputs.join(', ')}`],
    ['artifact', `${v.artifact.bytes} bytes, sha256 ${v.artifact.sha256}`],
    ['download', v.artifact.href],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, val]) => `${k.padEnd(width)}  ${val}`);
}

const metricsTextLoose = (values: Readonly<Record<string, unknown>>): string =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

/** `flywheel models history`: one row per alias move, oldest first. */
export function historyRows(entries: readonly HistoryEntry[]): string[] {
  return table(
    ['AT', 'ALIAS', 'FROM', 'TO', 'ACTOR', 'KIND', 'REASON'],
    entries.map((e) => [
      iso(e.at),
      e.alias,
      dash(e.from),
      dash(e.to),
      e.actor,
      e.rollback ? 'rollback' : 'move',
      e.reason,
    ]),
  );
}

/** A move as one line: `risk champion: v1 → v2 by alice (reason)`. */
export const moveLine = (e: HistoryEntry): string =>
  `${e.name} ${e.alias}: ${dash(e.from)} → ${dash(e.to)}${e.rollback ? ' (rollback)' : ''} by ${e.actor} — ${e.reason}`;

/** `flywheel status`. */
export function statusBlock(s: StatusView, url: string): string[] {
  return [
    `registry  reachable at ${url}`,
    ...table(
      ['MODEL', 'CHAMPION', 'CHALLENGER', 'VERSIONS', 'LATEST'],
      s.models.map((m) => [
        m.name,
        dash(m.champion),
        dash(m.challenger),
        String(m.versionCount),
        dash(m.latestVersion),
      ]),
    ),
    s.lastMove ? `last move ${iso(s.lastMove.at)}  ${moveLine(s.lastMove)}` : 'last move —',
  ];
}
