/**
 * Retries `start` until it succeeds or `stopped()` turns true, pausing between tries on a timer that
 * does not keep the process alive (a closed server must be able to exit while a retry waits).
 */
export async function keepTrying(start: () => Promise<void>, stopped: () => boolean, pauseMs = 1000): Promise<void> {
  while (!stopped()) {
    try {
      await start();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
    }
  }
}
