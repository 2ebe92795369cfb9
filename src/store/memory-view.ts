import sortedBtree from "sorted-btree";
import { CompactedError } from "./errors/compacted-error.ts";
import { FutureRevisionError } from "./errors/future-revision-error.ts";
import { InvalidArgumentError } from "./errors/invalid-argument-error.ts";
import type { JsonValue, KeyValue, RangeOptions, RangeResult, WatchEvent } from "./state-store.ts";

// sorted-btree is CommonJS: from ESM its class is the `default` of the module object.
const BTree = sortedBtree.default;
type BTree<K, V> = import("sorted-btree").default<K, V>;

/** A row of the change log: a put (value set) or a delete (tombstone) of one key at one revision. */
export interface ChangeRecord {
  readonly revision: number;
  readonly key: string;
  readonly deleted: boolean;
  readonly value: JsonValue;
  readonly create_revision: number;
  readonly version: number;
  readonly lease: number;
}

/** Identifies one change-log row, for backends to drop after compaction. */
export interface ChangeRowId {
  readonly revision: number;
  readonly key: string;
}

const isTombstone = (kv: KeyValue): boolean => kv.version === 0;

/**
 * The in-memory, multi-version view of the store that serves every read and watch replay.
 *
 * Backend-neutral: the embedded backend feeds it from its SQLite commits, an etcd backend
 * would feed it from etcd's watch stream. It never touches disk. Each key keeps its history
 * (puts and tombstones, oldest first) back to the compaction point, so reads at a past
 * revision and watches from an old revision work without a disk read.
 */
export class MemoryView {
  readonly #keys: BTree<string, KeyValue[]> = new BTree<string, KeyValue[]>();
  /** Every event at or after the compaction point, in revision order (the watch replay source). */
  readonly #log: WatchEvent[] = [];
  readonly #leaseKeys = new Map<number, Set<string>>();
  #revision: number;
  #compactRevision: number;
  /** Highest revision of a tombstone that compaction dropped: lastChange can no longer see it. */
  #droppedTombstoneRevision = 0;

  constructor(revision = 1, compactRevision = 0) {
    this.#revision = revision;
    this.#compactRevision = compactRevision;
  }

  get revision(): number {
    return this.#revision;
  }

  get compactRevision(): number {
    return this.#compactRevision;
  }

  /** Rebuild from change-log records in revision order (as a backend loads them at start). */
  static fromChanges(changes: Iterable<ChangeRecord>, revision: number, compactRevision: number): MemoryView {
    const view = new MemoryView(revision, compactRevision);
    for (const change of changes) view.#applyChange(change);
    return view;
  }

  /** Record a put at `revision` (the caller assigns revisions) and return its event. */
  put(revision: number, key: string, value: JsonValue, lease: number): WatchEvent {
    const prev = this.latest(key);
    return this.#applyChange({
      revision,
      key,
      deleted: false,
      value,
      create_revision: prev ? prev.create_revision : revision,
      version: prev ? prev.version + 1 : 1,
      lease,
    });
  }

  /** Record a delete at `revision`; undefined when the key does not exist. */
  remove(revision: number, key: string): WatchEvent | undefined {
    if (!this.latest(key)) return undefined;
    return this.#applyChange({ revision, key, deleted: true, value: null, create_revision: 0, version: 0, lease: 0 });
  }

  /** Mark `revision` as the latest; every write op ends with this, even one that changed several keys. */
  advanceTo(revision: number): void {
    if (revision < this.#revision) throw new InvalidArgumentError(`revision ${revision} is behind ${this.#revision}`);
    this.#revision = revision;
  }

  latest(key: string): KeyValue | undefined {
    const history = this.#keys.get(key);
    const last = history?.[history.length - 1];
    return last && !isTombstone(last) ? last : undefined;
  }

  /** Keys of `prefix` (or the key itself) that currently exist, in key order. */
  liveKeys(key: string, prefix: boolean): string[] {
    const keys: string[] = [];
    this.#forEachHistory(key, prefix, (name, history) => {
      if (!isTombstone(history[history.length - 1]!)) keys.push(name);
    });
    return keys;
  }

  keysOfLease(lease: number): string[] {
    return [...(this.#leaseKeys.get(lease) ?? [])];
  }

  range(key: string, options: RangeOptions = {}): RangeResult {
    const revision = this.#readRevision(options.revision);
    const limit = options.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError("limit must be a non-negative integer");
    const kvs: KeyValue[] = [];
    let count = 0;
    this.#forEachHistory(key, options.prefix ?? false, (_name, history) => {
      const kv = entryAt(history, revision);
      if (!kv || isTombstone(kv)) return;
      count++;
      if (options.countOnly || (limit > 0 && kvs.length >= limit)) return;
      kvs.push(options.keysOnly ? { ...kv, value: null } : kv);
    });
    return { kvs, count, more: kvs.length < count && !options.countOnly, revision: this.#revision };
  }

  lastChange(prefix: string): number {
    let highest = 0;
    this.#forEachHistory(prefix, true, (_name, history) => {
      highest = Math.max(highest, history[history.length - 1]!.mod_revision);
    });
    return Math.max(highest, this.#droppedTombstoneRevision);
  }

  /** Events at or after `fromRevision`, in order. Throws CompactedError when history is gone. */
  eventsSince(fromRevision: number): WatchEvent[] {
    if (fromRevision < this.#compactRevision) throw new CompactedError(fromRevision, this.#compactRevision);
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#log[mid]!.kv.mod_revision < fromRevision) low = mid + 1;
      else high = mid;
    }
    return this.#log.slice(low);
  }

  /**
   * Forget history before `revision`: reads and watches before it fail afterwards.
   * Returns the change-log rows that are no longer needed, for the backend to delete.
   */
  compact(revision: number): ChangeRowId[] {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compactRevision) throw new CompactedError(revision, this.#compactRevision);
    const dropped: ChangeRowId[] = [];
    const emptied: string[] = [];
    for (const [key, history] of this.#keys.entries()) {
      // Keep every entry from `revision` on, plus the last put before it (a read at `revision` needs it).
      let firstKept = history.findIndex((kv) => kv.mod_revision >= revision);
      if (firstKept === -1) firstKept = history.length;
      if (firstKept > 0 && !isTombstone(history[firstKept - 1]!)) firstKept--;
      if (firstKept === 0) continue;
      for (const kv of history.slice(0, firstKept)) {
        dropped.push({ revision: kv.mod_revision, key });
        if (isTombstone(kv)) this.#droppedTombstoneRevision = Math.max(this.#droppedTombstoneRevision, kv.mod_revision);
      }
      history.splice(0, firstKept);
      if (history.length === 0) emptied.push(key);
    }
    for (const key of emptied) this.#keys.delete(key);
    const firstEvent = this.#log.findIndex((event) => event.kv.mod_revision >= revision);
    this.#log.splice(0, firstEvent === -1 ? this.#log.length : firstEvent);
    this.#compactRevision = revision;
    return dropped;
  }

  #applyChange(change: ChangeRecord): WatchEvent {
    let history = this.#keys.get(change.key);
    if (!history) {
      history = [];
      this.#keys.set(change.key, history);
    }
    const last = history[history.length - 1];
    const prev = last && !isTombstone(last) ? last : undefined;
    const kv: KeyValue = Object.freeze({
      key: change.key,
      value: change.value,
      create_revision: change.create_revision,
      mod_revision: change.revision,
      version: change.version,
      lease: change.lease,
    });
    history.push(kv);
    if (prev?.lease) this.#leaseKeys.get(prev.lease)?.delete(change.key);
    if (kv.lease) {
      let keys = this.#leaseKeys.get(kv.lease);
      if (!keys) {
        keys = new Set();
        this.#leaseKeys.set(kv.lease, keys);
      }
      keys.add(kv.key);
    }
    if (prev?.lease && this.#leaseKeys.get(prev.lease)?.size === 0) this.#leaseKeys.delete(prev.lease);
    const event: WatchEvent = Object.freeze(
      prev ? { type: change.deleted ? "delete" : "put", kv, prev } : { type: change.deleted ? "delete" : "put", kv },
    );
    if (change.revision >= this.#compactRevision) this.#log.push(event);
    if (change.revision > this.#revision) this.#revision = change.revision;
    return event;
  }

  #readRevision(requested: number | undefined): number {
    if (requested === undefined || requested === 0) return this.#revision;
    if (!Number.isInteger(requested) || requested < 0) {
      throw new InvalidArgumentError("revision must be a non-negative integer");
    }
    if (requested > this.#revision) throw new FutureRevisionError(requested, this.#revision);
    if (requested < this.#compactRevision) throw new CompactedError(requested, this.#compactRevision);
    return requested;
  }

  #forEachHistory(key: string, prefix: boolean, visit: (key: string, history: KeyValue[]) => void): void {
    if (!prefix) {
      const history = this.#keys.get(key);
      if (history) visit(key, history);
      return;
    }
    for (const [name, history] of this.#keys.entries(key)) {
      if (!name.startsWith(key)) break;
      visit(name, history);
    }
  }
}

/** The entry visible at `revision`: the last one changed at or before it. */
function entryAt(history: KeyValue[], revision: number): KeyValue | undefined {
  const last = history[history.length - 1]!;
  if (last.mod_revision <= revision) return last;
  let low = 0;
  let high = history.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (history[mid]!.mod_revision <= revision) low = mid + 1;
    else high = mid;
  }
  return low === 0 ? undefined : history[low - 1];
}
