/**
 * Waiting for a condition: poll with a deadline and fail with a message that
 * says what never happened (and the last thing observed), never a fixed sleep.
 */
interface WaitOptions {
  /** What we are waiting for, phrased so that "never happened: <what>" reads well. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const interval = options.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`never happened within ${options.timeoutMs ?? 30_000} ms: ${options.what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
