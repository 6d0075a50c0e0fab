// A second data source, written apart from local/demo and used only by tests: other customers, frauds, shifts, delivery.
/*
 * README
 *
 * What it is. A synthetic bank-card source that shares nothing with local/demo but the event catalog: it emits
 * `dev.flywheel.transaction` and `dev.flywheel.label` CloudEvents (shared/events/schemas.ts) from its own source
 * `flywheel-test/foreign-source`, with amounts as decimal strings ("12.50") and times as ISO-8601 (the demo sends
 * numbers). Everything comes from the project's seeded RNG (mulberry32, shared/random): the same seed
 * gives the same events in the same send order, however the clock is chunked (history vs live, 100 ms ticks).
 *
 * Customers (population.ts), taking the five archetypes in turn; amounts in EUR, homes in the euro area:
 *   student     3.2 purchases/day, ~9 EUR (canteen, cafe, app-store 0.99–4.99, streaming), 40 % online, 1 device
 *   shop-owner  1.6/day, ~180 EUR wholesale and fuel; 25 % supplier transfers ~900 EUR (channel transfer,
 *               money-transfer), a third of them followed by a second one within the hour; 2 devices
 *   retiree     0.7/day, ~40 EUR pharmacy and grocery, almost all card-present (pos, atm), 1 device
 *   nomad       1.8/day, ~55 EUR coworking, lodging, airline, 60 % online, 3 devices; lives in a new country
 *               (Georgia, Mexico, Thailand, …) every 7–25 days, so new countries are legitimate for them
 *   family      2.2/day, ~70 EUR grocery, kids' clothing, fuel, 30 % online, 2 devices
 * Settled customers take trips (3–10 days; three in four near, one in four far) every 45–90 days on average, and
 * everyone replaces their phone about every 120 days (a legitimate new device). Card-present payments carry no
 * device id; online payments and transfers do.
 *
 * Frauds (generator.ts), as incidents per eligible customer and day; about 2 % of transactions:
 *   account-takeover  0.004: 1–4 online purchases (electronics, gift cards, crypto) within hours from a device the
 *                     customer never used, two in three from a far country (NG, PH, KZ, …), else from where the
 *                     customer is (a SIM swap); 2–8 × the customer's usual amount, at least 60–400 EUR
 *   card-testing      0.003: 3–10 online payments of 0.50–4.00 EUR at merchants the customer never used
 *                     (digital goods, donations, parking apps), 15–150 s apart, no device of the customer's
 *   mule-transfers    0.006, students and nomads only: 2–4 transfers of 150–1500 EUR within hours, from the
 *                     customer's own phone (a recruited account passing money on)
 * Labels come late: takeovers 2 h–2 days after, card tests 1–6 days (15 % never), mule transfers 3–12 days;
 * 3 % of legitimate transactions get a negative review label 1–5 days after.
 *
 * Delivery (delivery.ts): 20 % of events (transactions and labels) are sent twice, byte for byte (same source + id),
 * 1 min–3 h after the first copy; 5 % of transactions are sent 1–45 min late, after later ones (out of order; keep
 * ALLOWED_LATENESS_MS above 45 min); labels go out at their own time; `invalidShare` sends some with amount -1.
 *
 * Shifts (times from the live phase's start, like the demo's drift):
 *   A at `driftAfterSec` (timeline.driftAt), prices and checkout: legit amounts × 1.5 (app-store prices and card
 *     tests stay), online share + 35 points (taken from pos, then atm), 80 % of online payments from a new wallet
 *     device. Risk's inputs move at once: amount, last_amount, amount_sum_24h, amount_max_7d, amount_min_7d,
 *     amount_to_mean_30d, is_online, and a burst of new_device as each customer first uses the wallet.
 *     Segment's frequency and recency (txn_count_30d, seconds_since_last) stay; its monetary inputs
 *     (amount_mean_30d, amount_std_30d) follow the prices over the next 30 days. `generator.shiftA.priceFactor: 1`
 *     makes A a checkout-only shift that leaves segment's inputs alone.
 *   B at `shiftBAfterSec` (timeline.shiftBAt; default halfway from A to the end), behaviour: students buy 0.35 × as
 *     often and 2.8 × as much (a break), retirees 3 × as often and 0.55 × as much (grocery delivery), families
 *     0.45 × as often and 2.2 × as much (bulk buying). Segment's txn_count_30d, amount_mean_30d, amount_std_30d
 *     and seconds_since_last move (recency within days, the 30-day windows within 30 days). Risk sees those four
 *     columns too, so B moves some of risk's inputs as well.
 *
 * API. `createForeignSource(options)` has the demo source's surface: options brokerUrl, seed, customers, rate,
 * durationSec, driftAfterSec (= shift A), historyDays, invalidShare, onProgress; the result's timeline
 * (historyStart, liveStart, liveEnd, driftAt, speed), brokenIds, history(), live(), stop(). `bootstrapChampions`
 * takes it as it is (checked by the compiler in test/support/foreign-source.test.ts). What differs: it adds
 * shiftBAfterSec, delivery and its own generator options; timeline.shiftBAt; progress.phase ('stationary' |
 * 'shift-a' | 'shift-b'); transactionIds (valid transaction events sent, each once), customers, stats() (sent,
 * rejected, duplicates, late, labels) and fraudOf(transactionId). invalidShare defaults to 0. Event ids are stable
 * (`ev-<transactionId>`, `ev-label-<transactionId>`), with no per-send suffix, so a re-send is a real duplicate.
 * history() sends what is due before the live phase (re-sends included); late events and labels due after it go
 * out during live(). Without a broker: `createForeignGenerator` (the truth), `createDeliveryPlan` (what is sent
 * when) and `ingestRecords` (the event-log records ingest appends, for training tests).
 */
export { createDeliveryPlan, DEFAULT_DELIVERY, type Delivery, FOREIGN_SOURCE } from './delivery.ts';
export {
  createForeignGenerator,
  DEFAULT_FOREIGN_GENERATOR,
  FOREIGN_FRAUDS,
  type ForeignFraud,
  type ForeignGenerated,
} from './generator.ts';
export { ingestRecords } from './log-records.ts';
export { FOREIGN_ARCHETYPES, type ForeignArchetype } from './population.ts';
export {
  createForeignSource,
  type ForeignProgress,
  type ForeignSource,
  type ForeignSourceOptions,
  foreignTimeline,
} from './source.ts';
