// Serialises async sections per key. Auto Scaling has no compare-and-set on
// DesiredCapacity, so each "read fresh, decide, write" on a group must not
// interleave with another one from this process (two reconciles of one
// cluster, or a scale-out racing a scale-in on the same group).

export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Last one out removes the key so the map does not grow forever.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with a running or waiting section (for tests). */
  get size(): number {
    return this.#tails.size;
  }
}
