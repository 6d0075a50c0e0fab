// ISO-8601 durations as Knative's delivery spec writes them (backoffDelay: PT0.5S, timeout: PT30S), in milliseconds.

const PATTERN =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/**
 * Parses `PnW`, `PnD`, `PTnH`, `PTnM`, `PTnS` and their combinations (fractions allowed) into milliseconds.
 * Years and months are refused: their length in milliseconds is not fixed, and no delivery setting needs them.
 * Returns an error message instead of throwing, so the trigger loader can say which file and field it was.
 */
export function parseDuration(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  const m = PATTERN.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) {
    const hint = /^P\d+(?:\.\d+)?[YM]/.test(text) ? ' (years and months are not supported)' : '';
    return { ok: false, error: `"${text}" is not an ISO-8601 duration such as PT0.5S or PT1M${hint}` };
  }
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * (UNIT_MS[i] ?? 0);
  }
  return { ok: true, ms: Math.round(ms) };
}
