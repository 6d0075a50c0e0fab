// ingest's normaliser lives in the event catalog (shared/events/normalize.ts), shared with score's candidate form.
export { MAX_AMOUNT, normalizeLabel, normalizeTransaction } from '../../shared/events/normalize.ts';
