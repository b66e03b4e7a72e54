/**
 * Wraps `load` so that calls while one runs do not pile up: the first call starts a load; a call while it runs asks
 * for one more load after it (however many calls came) and gets the running one's promise, which settles once that
 * last load is done. A burst of events thus costs at most two loads. `load` should not throw: a rejection ends the
 * run and rejects its promise.
 */
export function coalesced(load: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        // In the same step as the last `again` check, so an ask in between is never lost.
        running = undefined;
      }
    })();
    return running;
  };
}
