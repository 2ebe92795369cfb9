/** Consul's cap on a session's lock delay, applied when the delay is armed. */
export const MAX_LOCK_DELAY_MS = 60_000;

/**
 * Lock delays: after a session holding a lock is invalidated, nobody may acquire that key for
 * the session's lock delay. Like Consul, which keeps them in its leader's memory, they live in
 * this master's memory only: a restart forgets them.
 */
export class LockDelayTable {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;
  /** Arming past this many remembered delays sweeps out the expired ones (amortised: it doubles with what stays). */
  #sweepAbove = MIN_SWEEP_ABOVE;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Delays remembered, expired ones not yet swept included (for diagnostics and tests). */
  get size(): number {
    return this.#until.size;
  }

  /** Blocks acquisitions of the key for `delayMs` (capped at 60 s) from now. */
  arm(dc: string, key: string, delayMs: number): void {
    if (!(delayMs > 0)) return;
    const until = this.#now() + Math.min(delayMs, MAX_LOCK_DELAY_MS);
    const id = tableKey(dc, key);
    if ((this.#until.get(id) ?? 0) < until) this.#until.set(id, until);
    if (this.#until.size > this.#sweepAbove) this.#sweep();
  }

  /** True while the key's lock delay runs; an expired delay is forgotten on the way. */
  isDelayed(dc: string, key: string): boolean {
    const id = tableKey(dc, key);
    const until = this.#until.get(id);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#until.delete(id);
    return false;
  }

  /** Forgets the delays that ran out, so that keys never asked about again do not pile up. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, until] of this.#until) if (until <= now) this.#until.delete(id);
    this.#sweepAbove = Math.max(MIN_SWEEP_ABOVE, 2 * this.#until.size);
  }
}

const MIN_SWEEP_ABOVE = 1024;

const tableKey = (dc: string, key: string): string => `${dc}\0${key}`;
