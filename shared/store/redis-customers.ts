// The customer-history role on Redis: three Lua scripts (lua.ts), one round trip per call, a customer's keys in one slot.
import type { CustomerHistoryStore, CustomerState } from '../features/customer-history.ts';
import { customerKeys, orderKeyOf } from './keys.ts';
import { parsePreviewReply, planPreview } from './preview.ts';
import type { RedisContext } from './redis-context.ts';
import { groupByNode, parseApplyReply, parseReadReply, textReply, windowTreeSpec } from './redis-support.ts';
import { checkSummaryQuery, planApply } from './validate.ts';

/** The customer-history role over one connection. */
export function redisCustomerHistory({ client, cluster, call }: RedisContext): CustomerHistoryStore {
  return {
    applyCustomerEvent: async (input) => {
      const p = planApply(input);
      return call('applyCustomerEvent', () =>
        client
          .fwApplyCustomerEventBuffer(
            p.history,
            p.firstSeenKey,
            p.claim,
            p.latest,
            p.windowTree,
            String(p.eventTime),
            p.member,
            p.record,
            String(p.retentionMs),
            p.maxEvents,
            p.applyLate ? `${p.allowedLatenessMs}:apply` : String(p.allowedLatenessMs),
            p.claimTtlMs,
            p.idleTtlMs,
            windowTreeSpec(p.retentionMs),
            p.windowsMs.join(' '),
            ...p.fields,
          )
          .then((reply) => parseApplyReply(textReply(reply), p)),
      );
    },

    readCustomers: async (customerIds, query) => {
      checkSummaryQuery(query);
      const ids = [...new Set(customerIds)];
      const keys = ids.map((id) => customerKeys(id, query.version));
      return call('readCustomers', async () => {
        const args = [
          String(query.retentionMs),
          windowTreeSpec(query.retentionMs),
          query.windowsMs.join(' '),
        ];
        const replies: unknown[] = [];
        // several customers: one explicit pipeline per node (one on a single server), one round trip each, in parallel
        const readGroup = async (group: number[]) => {
          const only = group.length === 1 ? keys[group[0] ?? 0] : undefined;
          if (only) {
            replies[group[0] ?? 0] = await client.fwReadCustomerBuffer(
              only.history,
              only.firstSeen,
              only.latest,
              only.windowTree,
              ...args,
            );
            return;
          }
          const pipe = client.pipeline();
          for (const i of group) {
            const k = keys[i];
            if (k) pipe.fwReadCustomerBuffer(k.history, k.firstSeen, k.latest, k.windowTree, ...args);
          }
          ((await pipe.exec()) ?? []).forEach(([err, reply], j) => {
            if (err) throw err;
            replies[group[j] ?? 0] = reply;
          });
        };
        const groups = groupByNode(
          keys.map((k) => k.history),
          cluster?.slots,
        );
        if (groups.length === 1 && groups[0]) await readGroup(groups[0]);
        else await Promise.all(groups.map(readGroup));
        const out = new Map<string, CustomerState>();
        ids.forEach((id, i) => {
          const state = parseReadReply(textReply(replies[i]), query);
          if (state) out.set(id, state);
        });
        return out;
      });
    },

    previewCustomerEvent: async (input) => {
      const p = planPreview(input);
      return call('previewCustomerEvent', () =>
        client
          .fwPreviewCustomerEvent(
            p.history,
            p.firstSeenKey,
            String(p.eventTime),
            String(input.retentionMs),
            ...p.fields,
          )
          .then((reply) => parsePreviewReply(reply, p)),
      );
    },
    readHistory: (customerId, version) =>
      call('readHistory', async () => {
        const flat = await client.zrange(customerKeys(customerId, version).history, 0, -1, 'WITHSCORES');
        const out: { time: number; orderKey: string }[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          out.push({ time: Number(flat[i + 1]), orderKey: orderKeyOf(flat[i] ?? '') });
        }
        return out;
      }),
  };
}
