/** How long to wait between attempts to reach the master. */
export interface BackoffPolicy {
  /** First delay, ms. */
  readonly initialMs: number;
  /** Longest delay, ms. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry): exponential, capped,
 * with "equal jitter" — a random half on top of a fixed half — so that many agents that lost
 * their master at once do not all come back at the same instant, yet none retries too eagerly.
 */
export function reconnectDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
