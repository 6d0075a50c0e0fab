// Turns a YAML document into Helm template text: values replaced by markers, markers by template expressions.
import { type Document, isScalar, Scalar, visit } from 'yaml';

/** What replaces a marker in the YAML text: an inline value, a block under its key, or a whole `key: value` line. */
export type Substitution =
  | { kind: 'scalar'; expr: string }
  | { kind: 'block'; expr: string }
  | { kind: 'entry'; template: string };

/** Collects substitutions for one document and turns the document into template text. */
export class Templater {
  private readonly subs: Substitution[] = [];
  private condition: string | undefined;
  constructor(
    private readonly doc: Document,
    private readonly where: string,
  ) {}

  private marker(sub: Substitution): Scalar {
    this.subs.push(sub);
    return new Scalar(`HELM_${this.subs.length - 1}_MARK`);
  }

  /** Replaces the value at `at`, which must exist (a source change that moves it stops the generator). */
  set(at: readonly (string | number)[], sub: Substitution, opts: { create?: boolean } = {}): void {
    if (!opts.create && !this.doc.hasIn(at)) throw new Error(`${this.where}: nothing at ${at.join('.')}`);
    this.doc.setIn(at, this.marker(sub));
  }

  /** Renders the document only when `condition` (a template expression) holds. */
  when(condition: string): void {
    this.condition = condition;
  }

  /** Every `key: value` pair where `test` holds, anywhere in the document. */
  replaceEach(test: (key: string, value: unknown) => boolean, sub: () => Substitution): number {
    let count = 0;
    visit(this.doc, {
      Pair: (_, pair) => {
        if (isScalar(pair.key) && test(String(pair.key.value), pair.value)) {
          pair.value = this.marker(sub());
          count += 1;
        }
      },
    });
    return count;
  }

  text(): string {
    const lines = this.doc
      .toString({ lineWidth: 0 })
      .split('\n')
      .map((line) => {
        const found = /^(\s*)(- )?([^\s:][^:]*: )?HELM_(\d+)_MARK$/.exec(line);
        if (!found) {
          if (line.includes('_MARK')) throw new Error(`${this.where}: a marker in ${line}`);
          return line;
        }
        const [, lead = '', dash = '', key = '', n] = found;
        const sub = this.subs[Number(n)];
        if (!sub) throw new Error(`${this.where}: unknown marker ${n}`);
        return substituted(sub, lead, dash, key);
      });
    const body = lines.join('\n').trimEnd();
    return this.condition ? `{{- if ${this.condition} }}\n${body}\n{{- end }}` : body;
  }
}

/** The template line for a marker found after `lead` (indentation), `dash` (a list item) and `key` (`name: `). */
function substituted(sub: Substitution, lead: string, dash: string, key: string): string {
  const depth = lead.length + dash.length;
  switch (sub.kind) {
    case 'scalar':
      return `${lead}${dash}${key}${sub.expr}`;
    case 'block':
      return `${lead}${dash}${key.trimEnd()} {{- ${sub.expr} | nindent ${depth + 2} }}`;
    case 'entry':
      return `${lead}{{- ${sub.template} | nindent ${depth} }}`;
  }
}
