// Retries invalidations in the background until Redis takes them, so a write made during an outage is not followed by stale reads.

/** Wait before retry `n`: 100 ms doubling up to 5 s. */
const delayOf = (n: number) => Math.min(100 * 2 ** n, 5000);

export class BackgroundRetries {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  /**
   * Runs `attempt`; when it fails, reports the error once and retries in the background (timers
   * unref'd) until it succeeds or `close()` is called. Resolves after the first attempt either way.
   */
  async run(attempt: () => Promise<unknown>, onFirstFailure: (error: unknown) => void): Promise<void> {
    try {
      await attempt();
    } catch (error) {
      onFirstFailure(error);
      this.schedule(attempt, 0);
    }
  }

  /** Stops every pending retry. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(attempt: () => Promise<unknown>, n: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      attempt().catch(() => this.schedule(attempt, n + 1));
    }, delayOf(n));
    timer.unref();
    this.timers.add(timer);
  }
}
