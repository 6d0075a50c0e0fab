// previewCustomerEvent for both stores: its checks and keys, and what it makes of the history it reads.
import { z } from 'zod';
import { DependencyError, InvalidInputError } from '../errors/index.ts';
import { hasControlCharacter } from '../events/schemas.ts';
import { summarizePrior } from '../features/windows.ts';
import { customerKeys, MEMBER_JOIN, MEMBER_SEPARATOR, parseJoinedMembers } from './keys.ts';
import type { CustomerEventPreview, CustomerEventPreviewInput } from './types.ts';
import { checkSummaryQuery } from './validate.ts';

/** A previewCustomerEvent call resolved to keys and numbers, read the same way by both implementations. */
export interface PreviewPlan {
  history: string;
  firstSeenKey: string;
  eventTime: number;
  /** The history is read from here on: the event's own retention, and any later entry (a duplicate, the newest). */
  from: number;
  allowedLatenessMs: number;
  windowsMs: readonly number[];
  /** How a member with the event's order key starts. */
  memberPrefix: string;
  /** Requested first-seen fields, duplicates removed, in request order. */
  fields: string[];
}

/** Validates a preview's input as planApply validates an apply's, and derives its keys. */
export function planPreview(input: CustomerEventPreviewInput): PreviewPlan {
  if (!Number.isFinite(input.eventTime)) {
    throw new InvalidInputError('eventTime', `eventTime must be finite, got ${input.eventTime}`);
  }
  if (!Number.isFinite(input.allowedLatenessMs) || input.allowedLatenessMs < 0) {
    throw new InvalidInputError('allowedLatenessMs', 'allowedLatenessMs must be a finite number >= 0');
  }
  checkSummaryQuery(input);
  if (input.orderKey === '' || hasControlCharacter(input.orderKey)) {
    throw new InvalidInputError('orderKey', 'orderKey must be non-empty, without control characters');
  }
  const keys = customerKeys(input.customerId, input.featureSetVersion);
  return {
    history: keys.history,
    firstSeenKey: keys.firstSeen,
    eventTime: input.eventTime,
    from: input.eventTime - input.retentionMs,
    allowedLatenessMs: input.allowedLatenessMs,
    windowsMs: input.windowsMs,
    memberPrefix: `${input.orderKey}${MEMBER_SEPARATOR}`,
    fields: [...new Set(input.firstSeen)],
  };
}

/**
 * The preview from the history members with time >= plan.from (joined by MEMBER_JOIN, in sorted-set order) and the
 * first-seen values of plan.fields (null: never seen). Members with the event's order key make it a duplicate and
 * are left out; otherwise it is too late when its time is more than the allowed lateness behind the newest member.
 */
export function previewOf(
  plan: PreviewPlan,
  joined: string,
  seen: readonly (string | null | undefined)[],
): CustomerEventPreview {
  // order keys hold no control characters, so the prefix can only match at the start of a member
  const duplicate = joined.startsWith(plan.memberPrefix) || joined.includes(MEMBER_JOIN + plan.memberPrefix);
  const kept = duplicate
    ? joined
        .split(MEMBER_JOIN)
        .filter((m) => !m.startsWith(plan.memberPrefix))
        .join(MEMBER_JOIN)
    : joined;
  const { times, values } = parseJoinedMembers(kept);
  const t = plan.eventTime;
  const newest = times.length > 0 ? (times[times.length - 1] as number) : null;
  if (!duplicate && newest !== null && t < newest - plan.allowedLatenessMs)
    return { kind: 'too-late', newest };
  let n = 0;
  while (n < times.length && (times[n] as number) < t) n++;
  const prior = summarizePrior(
    { times: times.subarray(0, n), values: values.subarray(0, n) },
    t,
    plan.windowsMs,
  );
  const firstSeen: Record<string, number | null> = {};
  plan.fields.forEach((field, i) => {
    const v = seen[i];
    firstSeen[field] = v === null || v === undefined ? null : Number(v);
  });
  return { kind: duplicate ? 'duplicate' : 'new', prior, firstSeen };
}

/** The PREVIEW_CUSTOMER_EVENT script's reply: the joined members and the first-seen values. */
const PreviewReplySchema = z.tuple([z.string(), z.array(z.string().nullable())]);

/** Checks the preview script's reply; a malformed one is a DependencyError. */
export function parsePreviewReply(reply: unknown, plan: PreviewPlan): CustomerEventPreview {
  const parsed = PreviewReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new DependencyError('redis', 'unexpected reply from the preview script', { cause: parsed.error });
  }
  const [joined, seen] = parsed.data;
  return previewOf(plan, joined, seen);
}
