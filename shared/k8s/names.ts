// Kubernetes name and label rules: DNS-1123 labels for object names, label-value syntax for free text.

/** A DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric, at most 63 characters. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: empty, or alphanumerics with '-', '_', '.' inside, at most 63 characters. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** True when `name` is a valid DNS-1123 label (what Job names must be, so that their pods can be named). */
export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/** True when `value` may be used as a label value. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** Folds free text into a DNS-1123 label of at most `max` characters; `fallback` when nothing usable is left. */
export function dnsLabel(text: string, max: number, fallback: string): string {
  const folded = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return folded === '' ? fallback : folded;
}

/** Folds free text into a label value (at most 63 characters); `fallback` when nothing usable is left. */
export function labelValue(text: string, fallback = 'none'): string {
  const folded = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return folded === '' ? fallback : folded;
}
