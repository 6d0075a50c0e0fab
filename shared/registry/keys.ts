// The registry's keys in the online store, tagged by model name so one model's keys share a Redis Cluster slot.
import type { ModelName } from '../events/index.ts';
import type { Alias } from './schemas.ts';

/** The channel every alias move is announced on. */
export const ALIAS_CHANNEL = 'registry:aliases';

export const registryKeys = {
  nextVersion: (m: ModelName) => `registry:{${m}}:next-version`,
  versions: (m: ModelName) => `registry:{${m}}:versions`,
  version: (m: ModelName, v: number) => `registry:{${m}}:version:${v}`,
  artifact: (m: ModelName, v: number) => `registry:{${m}}:artifact:${v}`,
  holdout: (m: ModelName, v: number) => `registry:{${m}}:holdout:${v}`,
  alias: (m: ModelName, a: Alias) => `registry:{${m}}:alias:${a}`,
  history: (m: ModelName) => `registry:{${m}}:history`,
};
