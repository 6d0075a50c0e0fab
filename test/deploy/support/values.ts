// Kubernetes and Knative value formats the tests compare: quantities, durations, label selectors.

/** A Kubernetes quantity (`250m`, `1`, `512Mi`, `1Gi`) as a number of base units. */
export function quantity(q: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!match) throw new Error(`not a quantity: ${q}`);
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? (factors[match[2]] ?? Number.NaN) : 1);
}

/** Seconds in a Knative/Go duration such as `30s`, `2m`, `1h30m`. */
export function goDurationSeconds(d: string): number {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== d) throw new Error(`not a duration: ${d}`);
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] ?? 's'] ?? Number.NaN), 0);
}

/** Seconds in an ISO-8601 duration limited to the PTnHnMnS forms Knative delivery uses. */
export function isoDurationSeconds(d: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(d);
  if (!match || d === 'PT') throw new Error(`not a PTnHnMnS duration: ${d}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** Does a Kubernetes label selector (matchLabels + matchExpressions) select these labels? */
export function selects(
  selector: {
    matchLabels?: Record<string, string> | undefined;
    matchExpressions?: { key: string; operator: string; values?: string[] | undefined }[] | undefined;
  },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? value !== undefined && values.includes(value)
        : e.operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : e.operator === 'Exists'
            ? value !== undefined
            : e.operator === 'DoesNotExist'
              ? value === undefined
              : false;
    if (!ok) return false;
  }
  return true;
}

/** A container image reference split into its repository, tag and digest (`host[:port]/path[:tag][@digest]`). */
export function imageReference(ref: string): { repository: string; tag?: string; digest?: string } {
  const [named = '', digest] = ref.split('@');
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const repository = colon > slash ? named.slice(0, colon) : named;
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  return {
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Is an image pinned: a sha256 digest, or a tag other than `latest`? */
export function isPinnedImage(ref: string): boolean {
  const { tag, digest } = imageReference(ref);
  if (digest !== undefined) return /^sha256:[0-9a-f]{64}$/.test(digest);
  return tag !== undefined && tag !== 'latest';
}
