// The consumers an event log has started, kept so that close() stops those still running.
import type { Consumption } from './types.ts';

/** The running consumers of one event log; shared by the Kafka and the file adapter. */
export class Consumptions {
  readonly #running = new Set<Consumption>();

  /** Registers a started consumer; the handle returned stops it and forgets it. */
  track(consumer: Consumption): Consumption {
    const handle: Consumption = {
      stop: async () => {
        this.#running.delete(handle);
        await consumer.stop();
      },
    };
    this.#running.add(handle);
    return handle;
  }

  /** Stops every consumer still running (each after its batch in progress). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#running].map((c) => c.stop()));
  }
}
