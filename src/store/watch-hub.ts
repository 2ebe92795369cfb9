import type { MemoryView } from "./memory-view.ts";
import type { WatchBatch, WatchEvent, Watcher, WatchOptions } from "./state-store.ts";

interface Subscription {
  readonly key: string;
  readonly prefix: boolean;
  readonly prevKv: boolean;
  readonly listener: (batch: WatchBatch) => void;
  /** Batches waiting for delivery; delivery is asynchronous so a writer never runs listener code. */
  pending: WatchBatch[];
  scheduled: boolean;
  cancelled: boolean;
}

/**
 * Fans committed changes out to watchers. Backend-neutral: a backend calls publish() once per
 * revision after the change is durable and applied to the view; replay of older revisions
 * comes from the view's event log, so a watch from any uncompacted revision sees every event
 * exactly once and in order.
 */
export class WatchHub {
  readonly #view: () => MemoryView;
  readonly #exact = new Map<string, Set<Subscription>>();
  readonly #prefixes = new Map<string, Set<Subscription>>();
  #count = 0;

  constructor(view: () => MemoryView) {
    this.#view = view;
  }

  get size(): number {
    return this.#count;
  }

  watch(options: WatchOptions, listener: (batch: WatchBatch) => void): Watcher {
    const view = this.#view();
    const subscription: Subscription = {
      key: options.key,
      prefix: options.prefix ?? false,
      prevKv: options.prevKv ?? false,
      listener,
      pending: [],
      scheduled: false,
      cancelled: false,
    };
    const from = options.fromRevision ?? view.revision + 1;
    if (from <= view.revision) {
      // Throws CompactedError before anything is registered.
      const history = view
        .eventsSince(from)
        .filter((event) => matches(subscription, event.kv.key))
        .map((event) => (subscription.prevKv ? event : withoutPrev(event)));
      for (const batch of groupByRevision(history)) this.#enqueue(subscription, batch);
    }
    const index = subscription.prefix ? this.#prefixes : this.#exact;
    let set = index.get(subscription.key);
    if (!set) {
      set = new Set();
      index.set(subscription.key, set);
    }
    set.add(subscription);
    this.#count++;
    return {
      cancel: () => {
        if (subscription.cancelled) return;
        subscription.cancelled = true;
        subscription.pending = [];
        set.delete(subscription);
        if (set.size === 0 && index.get(subscription.key) === set) index.delete(subscription.key);
        this.#count--;
      },
    };
  }

  /** Deliver the events of one committed revision to every matching watcher. */
  publish(revision: number, events: readonly WatchEvent[]): void {
    if (this.#count === 0 || events.length === 0) return;
    // The common case, one event: every match gets the same frozen batch, no per-watcher bookkeeping.
    if (events.length === 1) {
      const plain = Object.freeze({ revision, events: events.map(withoutPrev) });
      const full = Object.freeze({ revision, events });
      this.#forEachMatch(events[0]!.kv.key, (subscription) =>
        this.#enqueue(subscription, subscription.prevKv ? full : plain),
      );
      return;
    }
    const matched = new Map<Subscription, WatchEvent[]>();
    for (const event of events) {
      this.#forEachMatch(event.kv.key, (subscription) => {
        const list = matched.get(subscription);
        if (list) list.push(event);
        else matched.set(subscription, [event]);
      });
    }
    for (const [subscription, list] of matched) {
      this.#enqueue(
        subscription,
        Object.freeze({ revision, events: subscription.prevKv ? list : list.map(withoutPrev) }),
      );
    }
  }

  /** Drop every watcher (store closing). */
  clear(): void {
    for (const index of [this.#exact, this.#prefixes]) {
      for (const set of index.values()) for (const subscription of set) subscription.cancelled = true;
      index.clear();
    }
    this.#count = 0;
  }

  /**
   * Visits the watchers of `key`. With many watched prefixes it looks up the key's own prefixes
   * instead of testing every watched one, so idle watchers elsewhere cost a write nothing.
   */
  #forEachMatch(key: string, visit: (subscription: Subscription) => void): void {
    for (const subscription of this.#exact.get(key) ?? []) visit(subscription);
    if (this.#prefixes.size <= key.length + 1) {
      for (const [prefix, subscriptions] of this.#prefixes) {
        if (key.startsWith(prefix)) for (const subscription of subscriptions) visit(subscription);
      }
      return;
    }
    for (let end = 0; end <= key.length; end++) {
      const subscriptions = this.#prefixes.get(key.slice(0, end));
      if (subscriptions) for (const subscription of subscriptions) visit(subscription);
    }
  }

  #enqueue(subscription: Subscription, batch: WatchBatch): void {
    subscription.pending.push(batch);
    if (subscription.scheduled) return;
    subscription.scheduled = true;
    // A macrotask, not a microtask: the writer's own promise chain (its HTTP reply) finishes before
    // any watcher runs, however many are waiting.
    setImmediate(() => deliver(subscription));
  }
}

function deliver(subscription: Subscription): void {
  subscription.scheduled = false;
  const batches = subscription.pending;
  subscription.pending = [];
  for (const batch of batches) {
    if (subscription.cancelled) return;
    try {
      subscription.listener(batch);
    } catch (error) {
      // A listener's bug must not stop delivery to the others or crash the writer; surface it loudly.
      process.emitWarning(`state store watch listener threw: ${String(error)}`, "BerthWatchWarning");
    }
  }
}

function matches(subscription: Subscription, key: string): boolean {
  return subscription.prefix ? key.startsWith(subscription.key) : key === subscription.key;
}

function withoutPrev(event: WatchEvent): WatchEvent {
  return event.prev ? { type: event.type, kv: event.kv } : event;
}

function groupByRevision(events: WatchEvent[]): WatchBatch[] {
  const batches: { revision: number; events: WatchEvent[] }[] = [];
  for (const event of events) {
    const last = batches[batches.length - 1];
    if (last && last.revision === event.kv.mod_revision) last.events.push(event);
    else batches.push({ revision: event.kv.mod_revision, events: [event] });
  }
  return batches;
}
