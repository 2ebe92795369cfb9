/** How long a node may be offline before the instances of each strategy are moved off it, seconds. */
export interface RescheduleGrace {
  /** Kontena's ha grace: 2 minutes. */
  readonly haSeconds: number;
  /** Kontena's random grace: 30 seconds. */
  readonly randomSeconds: number;
}

export const DEFAULT_RESCHEDULE_GRACE: RescheduleGrace = { haSeconds: 120, randomSeconds: 30 };

/** The strategies whose instances leave an offline node; a daemon's instances belong to their node. */
export type MovableStrategy = "ha" | "random";

/** Called when a node has been offline for a strategy's grace period. */
export type GraceExpired = (grid: string, node: string, strategy: MovableStrategy, offlineSinceMs: number) => void;

/**
 * One timer per offline node and strategy, due when the node has been offline for that
 * strategy's grace period. A node that comes back (or is removed) has its timers cancelled.
 */
export class OfflineGraceTimers {
  readonly #grace: RescheduleGrace;
  readonly #expired: GraceExpired;
  readonly #pending = new Map<string, NodeJS.Timeout[]>();

  constructor(grace: RescheduleGrace, expired: GraceExpired) {
    this.#grace = grace;
    this.#expired = expired;
  }

  /**
   * The node went offline at `sinceMs`; each strategy's timer is due at since + its grace, but
   * not before `notBeforeMs`. A node already counted as offline keeps its timers.
   */
  offline(grid: string, node: string, sinceMs: number, notBeforeMs = 0): void {
    const key = `${grid}/${node}`;
    if (this.#pending.has(key)) return;
    const graces: [MovableStrategy, number][] = [
      ["ha", this.#grace.haSeconds],
      ["random", this.#grace.randomSeconds],
    ];
    const timers = graces.map(([strategy, seconds]) => {
      const due = Math.max(sinceMs + seconds * 1000, notBeforeMs);
      const timer = setTimeout(() => this.#expired(grid, node, strategy, sinceMs), Math.max(0, due - Date.now()));
      timer.unref();
      return timer;
    });
    this.#pending.set(key, timers);
  }

  /** The node is back (or gone): nothing is due for it any more. */
  cancel(grid: string, node: string): void {
    const key = `${grid}/${node}`;
    for (const timer of this.#pending.get(key) ?? []) clearTimeout(timer);
    this.#pending.delete(key);
  }

  clear(): void {
    for (const timers of this.#pending.values()) for (const timer of timers) clearTimeout(timer);
    this.#pending.clear();
  }
}
