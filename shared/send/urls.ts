// Where the local loop listens (local/loop.ts PORT_OFFSETS), without loading the loop into a small CLI.
import type { Config } from '../config/index.ts';

/** The broker, ingest's and score's offsets from FLYWHEEL_PORT_BASE; a test keeps them equal to the loop's. */
export const LOOP_OFFSETS = { broker: 0, ingest: 1, score: 3 } as const;

const local = (config: Pick<Config, 'FLYWHEEL_PORT_BASE'>, name: keyof typeof LOOP_OFFSETS): string =>
  `http://127.0.0.1:${config.FLYWHEEL_PORT_BASE + LOOP_OFFSETS[name]}/`;

/** ingest's URL: FLYWHEEL_INGEST_URL, else the local loop's. */
export const ingestUrl = (config: Pick<Config, 'FLYWHEEL_PORT_BASE' | 'FLYWHEEL_INGEST_URL'>): string =>
  config.FLYWHEEL_INGEST_URL ?? local(config, 'ingest');

/** The local loop's broker ingress (POST / takes CloudEvents). */
export const brokerUrl = (config: Pick<Config, 'FLYWHEEL_PORT_BASE'>): string => local(config, 'broker');

/** The local loop's score function. */
export const scoreUrl = (config: Pick<Config, 'FLYWHEEL_PORT_BASE'>): string => local(config, 'score');
