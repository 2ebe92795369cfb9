import { TooManyRequestsError } from "../errors/too-many-requests-error.ts";

export interface LoginThrottleOptions {
  /** Failed attempts allowed per key within the window before the key is locked. */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  /** How long a key stays locked. */
  readonly lockMs?: number;
  readonly now?: () => number;
}

interface Counter {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/**
 * Brute-force protection for password and token logins. Failures are counted per key — the
 * caller passes one key for the client address and one for the username — so neither many
 * users from one address nor many addresses against one user get unlimited guesses.
 * In memory: a restart forgives, which is acceptable for a speed bump, not an audit log.
 */
export class LoginThrottle {
  readonly #counters = new Map<string, Counter>();
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #lockMs: number;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#lockMs = options.lockMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Throws TooManyRequestsError when any of the keys is locked. */
  check(keys: readonly string[]): void {
    const now = this.#now();
    let wait = 0;
    for (const key of keys) {
      const counter = this.#counters.get(key);
      if (counter && counter.lockedUntil > now) wait = Math.max(wait, counter.lockedUntil - now);
    }
    if (wait > 0) throw new TooManyRequestsError(Math.ceil(wait / 1000));
  }

  failed(keys: readonly string[]): void {
    const now = this.#now();
    this.#sweep(now);
    for (const key of keys) {
      let counter = this.#counters.get(key);
      if (!counter || now - counter.windowStart > this.#windowMs) {
        counter = { failures: 0, windowStart: now, lockedUntil: 0 };
        this.#counters.set(key, counter);
      }
      counter.failures++;
      if (counter.failures >= this.#maxFailures) counter.lockedUntil = now + this.#lockMs;
    }
  }

  succeeded(keys: readonly string[]): void {
    for (const key of keys) this.#counters.delete(key);
  }

  /** Forget stale counters so the map cannot grow without bound under a spray of addresses. */
  #sweep(now: number): void {
    if (this.#counters.size < 10_000) return;
    for (const [key, counter] of this.#counters) {
      if (counter.lockedUntil <= now && now - counter.windowStart > this.#windowMs) this.#counters.delete(key);
    }
  }
}
