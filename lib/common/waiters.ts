// Callers waiting, bounded, for news of one key (a release, a fill): woken by `wake(key)` or by their timeout.

/** Waiters by key. The owner wakes them (from a pub/sub message or a local event). */
export class KeyWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves when `key` is woken, or after `ms` (then the caller looks again by itself). */
  wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) {
        set = new Set();
        this.waiting.set(key, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(key) === waiters) this.waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      waiters.add(done);
    });
  }

  /** Wakes every caller waiting on `key`. */
  wake(key: string): void {
    for (const done of [...(this.waiting.get(key) ?? [])]) done();
  }

  /** How many callers wait on `key` right now. */
  count(key: string): number {
    return this.waiting.get(key)?.size ?? 0;
  }
}
