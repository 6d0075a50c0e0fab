// The local broker's public surface: load the Trigger manifests, create the broker, read its stats.
export {
  type Broker,
  type BrokerOptions,
  type BrokerStats,
  createBroker,
  type StopReport,
  type TriggerStats,
} from './broker.ts';
export type { DeadLetter } from './dead-letters.ts';
export type { LeftEvent } from './dispatcher.ts';
export { backoffMs, isRetriable } from './delivery.ts';
export { compileTriggerFilter, type FilterExpression } from './filters.ts';
export {
  DEFAULT_DELIVERY,
  type Delivery,
  loadTriggers,
  parseTriggers,
  type Subscriber,
  type Trigger,
} from './triggers.ts';
