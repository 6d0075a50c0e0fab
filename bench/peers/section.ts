// What each comparison of `npm run bench:peers` hands the report: its full tables, and rows of the summary table.

/** One line of the README's "Flywheel vs peers" table. */
export interface SummaryRow {
  /** What was compared, e.g. "v2 infer, 1 row: throughput at saturation". */
  comparison: string;
  peer: string;
  flywheel: string;
  peerValue: string;
  /** Flywheel relative to the peer, written so that the target reads the same way (e.g. "4.1×"). */
  ratio: string;
  /** The target, e.g. "≥ 3×"; empty when there is none. */
  target: string;
  /** Whether the target holds; null when there is no target. */
  met: boolean | null;
}

export interface SectionResult {
  name: string;
  /** Markdown for the full report: method, versions and every table of this comparison. */
  markdown: string;
  summary: SummaryRow[];
}
