// A bounded map of derived values (keys, header items) that forgets everything at once when full.

/**
 * Values computed from a key and kept for the next request with the same key. Past `max` entries it is
 * emptied at once: cheaper per use than an LRU, and the hot keys come back on their next use.
 */
export class Memo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.values.get(key);
  }

  set(key: K, value: V): void {
    if (this.values.size >= this.max) this.values.clear();
    this.values.set(key, value);
  }
}
