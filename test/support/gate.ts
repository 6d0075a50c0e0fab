// A gate a test opens by hand, to hold work in progress at a chosen point without waiting on the clock.

/** `wait()` blocks until `open()`; `reached` resolves when something started waiting. */
export function gate() {
  let open: () => void = () => {};
  let entered: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    entered = resolve;
  });
  return {
    wait: () => {
      entered();
      return opened;
    },
    open,
    reached,
  };
}
