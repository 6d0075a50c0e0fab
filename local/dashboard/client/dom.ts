// Browser-side DOM helpers for the dashboard: elements built from text nodes only (event data never becomes markup).

/** Anything h() accepts as a child: nodes, or values shown as text. */
export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  /** data-* attributes, by name without the prefix. */
  data?: Record<string, string>;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Creates an HTML element. Strings become text nodes and attributes go through setAttribute, so a value such as
 * `<script>` from an event is shown as those characters and never parsed; there is deliberately no way to pass
 * markup, event handlers or a style attribute.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props?.class) el.className = props.class;
  if (props?.title) el.title = props.title;
  for (const [k, v] of Object.entries(props?.data ?? {})) el.setAttribute(`data-${k}`, v);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with presentation attributes (numbers and fixed strings from the dashboard itself). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** Replaces the children of the element matching `selector` (a fixed part of the page shell). */
export function fill(selector: string, ...children: Child[]): void {
  const el = document.querySelector(selector);
  if (!el) return;
  el.replaceChildren();
  append(el, children);
}

/** Sets the text of the element matching `selector`. */
export function setText(selector: string, text: string): void {
  const el = document.querySelector(selector);
  if (el && el.textContent !== text) el.textContent = text;
}

/** Integer with thousands separators: 12,345. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A number with `digits` decimals, or a dash when absent. */
export const fixed = (n: number | null | undefined, digits: number): string =>
  typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '–';

/** Wall-clock time of an epoch-ms instant, 24-hour hh:mm:ss. */
export const clock = (t: number): string =>
  new Date(t).toLocaleTimeString('en-GB', {
    hour12: false,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

/** Text for an unknown JSON value (dead-letter attributes are untyped). */
export const str = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

/** A figure in a summary row: the value in bold, then its label; `data` marks the value for tests. */
export const figure = (value: string, label: string, data?: Record<string, string>): HTMLElement =>
  h('span', { class: 'fig' }, h('b', data ? { data } : null, value), ` ${label}`);

/** An empty-state line inside a panel. */
export const empty = (text: string): HTMLElement => h('p', { class: 'empty' }, text);
