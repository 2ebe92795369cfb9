/**
 * Runs tasks one at a time per key, in arrival order, and tasks of different keys concurrently.
 * Writers of one hot record queue up here instead of all racing the same compare-and-swap,
 * where all but one would lose each round.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting (for diagnostics and tests). */
  get size(): number {
    return this.#tails.size;
  }
}
