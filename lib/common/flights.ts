// The one in-process flight map: the first caller of a key starts a flight, identical callers join it until it ends.

/** Flights by key. A flight ends only itself: a newer flight of the same key is never removed by an older one's end. */
export class Flights<F> {
  private readonly map = new Map<string, F>();

  /** The flight of `key` under way, if any. */
  get(key: string): F | undefined {
    return this.map.get(key);
  }

  /** Registers `flight` as the one of `key`; returns the function that ends it (idempotent). */
  start(key: string, flight: F): () => void {
    this.map.set(key, flight);
    return () => {
      if (this.map.get(key) === flight) this.map.delete(key);
    };
  }

  /**
   * Starts a flight whose value comes later: joiners wait on its promise; the returned function settles
   * it and ends it.
   */
  open<V>(this: Flights<Promise<V>>, key: string): (value: V) => void {
    let resolve!: (value: V) => void;
    const end = this.start(
      key,
      new Promise<V>((done) => {
        resolve = done;
      }),
    );
    return (value) => {
      resolve(value);
      end();
    };
  }

  /** Forgets the flight of `key` (joiners already waiting keep waiting on it). */
  delete(key: string): void {
    this.map.delete(key);
  }
}
