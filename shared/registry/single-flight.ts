// One refresh at a time per cached model: concurrent callers share the run in flight.

/** Where a cache keeps its refresh in flight; null when none runs. */
export interface Flight<T> {
  loading: Promise<T> | null;
}

/**
 * Runs `work` unless a run is already in flight on `slot`, in which case callers get that run: a burst of requests
 * or alias notices costs one registry read and one model load. The slot is free again once the run settles.
 */
export function singleFlight<T>(slot: Flight<T>, work: () => Promise<T>): Promise<T> {
  if (slot.loading) return slot.loading;
  // work starts on a later tick, so the slot is set before it can settle, even if it throws at once
  const run = Promise.resolve()
    .then(work)
    .finally(() => {
      slot.loading = null;
    });
  slot.loading = run;
  return run;
}
