import { CompactedError } from "../../store/errors/compacted-error.ts";
import { MAX_KEY_LENGTH } from "../../store/key-rules.ts";
import type { StateStore } from "../../store/state-store.ts";
import type { Acl } from "../acl/acl.ts";
import type { QueryResult } from "../blocking/blocking-query-service.ts";
import { BadRequestError } from "../errors/bad-request-error.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { ForbiddenError } from "../errors/forbidden-error.ts";
import { OperationFailedError } from "../errors/operation-failed-error.ts";
import { KeyedQueue } from "../records/keyed-queue.ts";
import { kvPrefix, kvStoreKey } from "./consul-keys.ts";
import { decodeKvEntry, type KvEntry } from "./kv-entry.ts";
import type { KvOpError, KvOperation } from "./kv-operation.ts";
import { KvTableIndex } from "./kv-table-index.ts";
import { KvTxnPlan, PENDING_INDEX } from "./kv-txn-plan.ts";
import type { LockDelayTable } from "./lock-delay-table.ts";

/**
 * A read as a blocking query runs it: the store prefixes whose changes may change the answer,
 * and how to compute the answer with its index. Cheap to run again after every change.
 */
export interface WatchableRead<T> {
  readonly prefixes: readonly string[];
  readonly run: () => Promise<QueryResult<T>>;
}

/** A transaction's outcome: every result, or every failed operation (and nothing written). */
export type KvTxnOutcome =
  | { readonly ok: true; readonly results: readonly KvEntry[] }
  | { readonly ok: false; readonly errors: readonly KvOpError[] };

/** Attempts before a transaction that keeps losing races gives up with a 409. */
const MAX_ATTEMPTS = 100;

/**
 * Consul's KV store, one per datacenter, over the state store: entries live under
 * `/consul/<dc>/kv/`, their indexes are the store's revisions, and every write, single or
 * transactional, goes through one transaction engine (KvTxnPlan) with compare-and-swap commits.
 */
export class KvService {
  readonly #store: StateStore;
  readonly #lockDelays: LockDelayTable;
  readonly #tableIndex: KvTableIndex;
  /** Single-key writes of one key take turns, so a hot key's writers do not keep losing the CAS to each other. */
  readonly #writes = new KeyedQueue();

  constructor(store: StateStore, lockDelays: LockDelayTable) {
    this.#store = store;
    this.#lockDelays = lockDelays;
    this.#tableIndex = new KvTableIndex(store);
  }

  /**
   * One entry. Its index is the entry's ModifyIndex; a missing entry (or one the ACL hides) has
   * the highest index of the datacenter's KV data, deletions included, so a delete wakes watchers.
   */
  get(dc: string, key: string, acl: Acl): WatchableRead<KvEntry | undefined> {
    this.#assertKey(dc, key);
    const storeKey = kvStoreKey(dc, key);
    return {
      prefixes: [storeKey],
      run: async () => {
        const kv = await this.#store.get(storeKey);
        if (kv && acl.keyRead(key)) return { index: kv.mod_revision, value: decodeKvEntry(kv, kvPrefix(dc).length) };
        // The key's own deletion counts even if the table index has not heard of it yet.
        return { index: Math.max(this.#tableIndex.of(dc), this.#store.lastChange(storeKey)), value: undefined };
      },
    };
  }

  /** Every entry under the prefix that the ACL lets the caller read, in key order. */
  list(dc: string, prefix: string, acl: Acl): WatchableRead<KvEntry[]> {
    this.#assertKey(dc, prefix);
    return {
      prefixes: [kvStoreKey(dc, prefix)],
      run: async () => {
        const { kvs } = await this.#store.range(kvStoreKey(dc, prefix), { prefix: true });
        const entries = kvs.map((kv) => decodeKvEntry(kv, kvPrefix(dc).length)).filter((e) => acl.keyRead(e.key));
        return { index: this.#listIndex(dc, prefix), value: entries };
      },
    };
  }

  /** The keys under the prefix; with a separator, each key cut after the first separator past the prefix, once. */
  keys(dc: string, prefix: string, separator: string, acl: Acl): WatchableRead<string[]> {
    this.#assertKey(dc, prefix);
    return {
      prefixes: [kvStoreKey(dc, prefix)],
      run: async () => {
        const { kvs } = await this.#store.range(kvStoreKey(dc, prefix), { prefix: true, keysOnly: true });
        const keys: string[] = [];
        const seen = new Set<string>();
        for (const kv of kvs) {
          const key = kv.key.slice(kvPrefix(dc).length);
          if (!acl.keyRead(key)) continue;
          const cut = separator === "" ? -1 : key.indexOf(separator, prefix.length);
          if (cut === -1) keys.push(key);
          else {
            const shortened = key.slice(0, cut + separator.length);
            if (!seen.has(shortened)) keys.push(shortened);
            seen.add(shortened);
          }
        }
        return { index: this.#listIndex(dc, prefix), value: keys };
      },
    };
  }

  /**
   * Runs the operations as one atomic transaction: all of them take effect at one revision, or
   * none does. A transaction of reads only is served from one snapshot without writing.
   */
  async transact(dc: string, ops: readonly KvOperation[], acl: Acl): Promise<KvTxnOutcome> {
    for (const op of ops) this.#assertKey(dc, op.key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const plan = new KvTxnPlan(this.#store, dc);
      let run: Awaited<ReturnType<KvTxnPlan["run"]>>;
      try {
        run = await plan.run(ops, acl, this.#lockDelays);
      } catch (error) {
        // The snapshot was compacted away while the attempt read it: take a newer one.
        if (error instanceof CompactedError) continue;
        throw error;
      }
      if (run.errors.length > 0) return { ok: false, errors: run.errors };
      if (!plan.writes) return { ok: true, results: run.results };
      const committed = await this.#store.txn(plan.commitRequest());
      if (!committed.succeeded) continue;
      const at = (index: number) => (index === PENDING_INDEX ? committed.revision : index);
      return {
        ok: true,
        results: run.results.map((entry) => ({
          ...entry,
          createIndex: at(entry.createIndex),
          modifyIndex: at(entry.modifyIndex),
        })),
      };
    }
    throw new ConflictError("the keys are being changed concurrently; try again");
  }

  /**
   * A single-key write (set, cas, lock, unlock, delete, delete-cas) as PUT and DELETE make it:
   * false when its condition did not hold, as Consul answers.
   */
  async write(dc: string, op: KvOperation, acl: Acl): Promise<boolean> {
    const outcome = await this.#writes.run(`${dc}\0${op.key}`, () => this.transact(dc, [op], acl));
    if (outcome.ok) return true;
    const [error] = outcome.errors;
    if (error?.kind === "denied") throw new ForbiddenError("Permission denied");
    if (error?.kind === "invalid") throw new OperationFailedError(error.what);
    return false;
  }

  /** Deletes every key under the prefix ("" for all), which takes write access to the whole prefix. */
  async deleteTree(dc: string, prefix: string, acl: Acl): Promise<void> {
    this.#assertKey(dc, prefix);
    if (!acl.keyWritePrefix(prefix)) throw new ForbiddenError("Permission denied");
    await this.#store.delete(kvStoreKey(dc, prefix), { prefix: true });
  }

  /**
   * The index of a prefix read: its latest change, deletions included; the whole KV's when it has
   * none; never 0, which clients take as "do not block".
   */
  #listIndex(dc: string, prefix: string): number {
    // Exact for the prefix read (it costs what the read costs); the table index only stands in for a
    // prefix that never held anything, where no change can have been missed.
    return this.#store.lastChange(kvStoreKey(dc, prefix)) || this.#tableIndex.of(dc);
  }

  /** Keys the store cannot keep are refused before anything runs. */
  #assertKey(dc: string, key: string): void {
    const room = MAX_KEY_LENGTH - kvPrefix(dc).length;
    if (key.length > room) throw new BadRequestError(`key is too long: ${key.length} characters, at most ${room}`);
    if (key.includes("\0")) throw new BadRequestError("key must not contain a NUL character");
    if (!key.isWellFormed()) throw new BadRequestError("key is not well-formed Unicode");
  }
}
