import type { Compare, KeyValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { Acl } from "../acl/acl.ts";
import { kvPrefix, kvStoreKey, sessionStoreKey } from "./consul-keys.ts";
import { decodeKvEntry, encodeKvEntry, type KvEntry, sameKvContents } from "./kv-entry.ts";
import type { KvOpError, KvOpErrorKind, KvOperation } from "./kv-operation.ts";
import type { LockDelayTable } from "./lock-delay-table.ts";

/** CreateIndex/ModifyIndex of an entry this transaction writes: the commit's revision, known only after it. */
export const PENDING_INDEX = -1;

class OpFailure extends Error {
  readonly kind: KvOpErrorKind;
  constructor(kind: KvOpErrorKind, what: string) {
    super(what);
    this.kind = kind;
  }
}

const refused = (what: string) => new OpFailure("refused", what);
const invalid = (what: string) => new OpFailure("invalid", what);
/** Go's %q, near enough: a double-quoted string with escapes. */
const q = (text: string): string => JSON.stringify(text);

/**
 * One attempt at a KV transaction, Consul's semantics over the store's optimistic concurrency:
 * the operations run in order against a snapshot (the store at one revision) plus what earlier
 * operations wrote, so several operations may touch one key; the commit then writes each changed
 * key once, guarded by compares on every key and session the attempt read. When a compare fails,
 * another writer got there first and the caller runs a fresh attempt.
 */
export class KvTxnPlan {
  readonly #store: StateStore;
  readonly #dc: string;
  readonly #revision: number;
  readonly #prefixLength: number;
  /** Store records as read at the snapshot revision (undefined: absent), by store key. */
  readonly #observed = new Map<string, KeyValue | undefined>();
  /** Entries as the operations so far left them (null: deleted), by Consul key. */
  readonly #overlay = new Map<string, KvEntry | null>();

  constructor(store: StateStore, dc: string) {
    this.#store = store;
    this.#dc = dc;
    this.#revision = store.currentRevision();
    this.#prefixLength = kvPrefix(dc).length;
  }

  /**
   * Runs every operation, as Consul does: first the checks that need no state (key, ACL, lock
   * delay) for all of them, and if none failed, the operations themselves. Returns the results
   * (entries of get, get-tree and the writes, values blanked for writes) or every failure.
   */
  async run(
    ops: readonly KvOperation[],
    acl: Acl,
    lockDelays: LockDelayTable,
  ): Promise<{ readonly results: KvEntry[]; readonly errors: KvOpError[] }> {
    const errors: KvOpError[] = [];
    ops.forEach((op, opIndex) => {
      const failure = this.#preCheck(op, acl, lockDelays);
      if (failure) errors.push({ opIndex, what: failure.message, kind: failure.kind });
    });
    if (errors.length > 0) return { results: [], errors };
    const results: KvEntry[] = [];
    for (const [opIndex, op] of ops.entries()) {
      try {
        results.push(...(await this.#apply(op)));
      } catch (error) {
        if (!(error instanceof OpFailure)) throw error;
        errors.push({ opIndex, what: error.message, kind: error.kind });
      }
    }
    return { results: errors.length > 0 ? [] : results.filter((entry) => acl.keyRead(entry.key)), errors };
  }

  /** True when an operation changed a key: the plan must be committed. */
  get writes(): boolean {
    return [...this.#overlay].some(([key, entry]) => entry !== null || this.#observed.get(this.#storeKey(key)));
  }

  /** The store transaction that makes the plan durable, if nothing it read has changed since. */
  commitRequest(): { compare: Compare[]; success: TxnOp[] } {
    const compare: Compare[] = [...this.#observed].map(([key, kv]) => ({
      key,
      target: "mod_revision",
      op: "==",
      value: kv?.mod_revision ?? 0,
    }));
    const success: TxnOp[] = [];
    for (const [key, entry] of this.#overlay) {
      const storeKey = this.#storeKey(key);
      if (entry) success.push({ type: "put", key: storeKey, value: encodeKvEntry(entry) });
      else if (this.#observed.get(storeKey)) success.push({ type: "delete", key: storeKey });
    }
    return { compare, success };
  }

  #preCheck(op: KvOperation, acl: Acl, lockDelays: LockDelayTable): OpFailure | undefined {
    if (op.key === "" && op.verb !== "delete-tree") return invalid("Must provide key");
    const allowed =
      op.verb === "delete-tree"
        ? acl.keyWritePrefix(op.key)
        : op.verb === "get" || op.verb === "get-tree"
          ? true
          : op.verb === "check-session" || op.verb === "check-index"
            ? acl.keyRead(op.key)
            : acl.keyWrite(op.key);
    if (!allowed) return new OpFailure("denied", "Permission denied");
    if (op.verb === "lock" && lockDelays.isDelayed(this.#dc, op.key)) {
      return refused(`failed to lock key ${q(op.key)} due to lock delay`);
    }
    return undefined;
  }

  async #apply(op: KvOperation): Promise<KvEntry[]> {
    const existing = await this.#read(op.key);
    switch (op.verb) {
      case "set":
        // A plain set keeps the lock holder but, like Consul's, not the LockIndex.
        return [this.#set(op, existing, 0, existing?.session ?? "")];
      case "cas":
        if (op.index === 0 ? existing !== undefined : existing?.modifyIndex !== op.index) {
          throw refused(`failed to set key ${q(op.key)}, index is stale`);
        }
        return [this.#set(op, existing, 0, existing?.session ?? "")];
      case "lock":
        return [await this.#lock(op, existing)];
      case "unlock":
        if (op.session === "") throw invalid("missing session");
        if (existing === undefined || existing.session !== op.session) {
          throw refused(`failed to unlock key ${q(op.key)}, lock isn't held, or is held by another session`);
        }
        return [this.#set(op, existing, existing.lockIndex, "")];
      case "get":
        if (existing === undefined) throw refused(`key ${q(op.key)} doesn't exist`);
        return [existing];
      case "get-tree":
        return this.#readTree(op.key);
      case "check-index":
        if (existing === undefined) throw refused(`failed to check index, key ${q(op.key)} doesn't exist`);
        if (existing.modifyIndex !== op.index) {
          throw refused(
            `failed index check for key ${q(op.key)}, current modify index ${existing.modifyIndex} != ${op.index}`,
          );
        }
        return [blanked(existing)];
      case "check-session":
        if (existing === undefined) throw refused(`failed to check session, key ${q(op.key)} doesn't exist`);
        if (existing.session !== op.session) {
          throw refused(
            `failed session check for key ${q(op.key)}, current session ${q(existing.session)} != ${q(op.session)}`,
          );
        }
        return [blanked(existing)];
      case "check-not-exists":
        if (existing !== undefined) throw refused(`key ${q(op.key)} exists`);
        return [];
      case "delete":
        this.#overlay.set(op.key, null);
        return [];
      case "delete-cas":
        if (existing !== undefined && existing.modifyIndex !== op.index) {
          throw refused(`failed to delete key ${q(op.key)}, index is stale`);
        }
        this.#overlay.set(op.key, null);
        return [];
      case "delete-tree":
        for (const entry of await this.#readTree(op.key)) this.#overlay.set(entry.key, null);
        return [];
      default:
        throw invalid(`unknown KV verb ${q(op.verb)}`);
    }
  }

  async #lock(op: KvOperation, existing: KvEntry | undefined): Promise<KvEntry> {
    if (op.session === "") throw invalid("missing session");
    const sessionKey = sessionStoreKey(this.#dc, op.session);
    if (!this.#observed.has(sessionKey)) {
      this.#observed.set(sessionKey, await this.#store.get(sessionKey, { revision: this.#revision }));
    }
    if (!this.#observed.get(sessionKey)) throw invalid(`invalid session ${q(op.session)}`);
    if (existing && existing.session !== "" && existing.session !== op.session) {
      throw refused(`failed to lock key ${q(op.key)}, lock is already held`);
    }
    const lockIndex = existing === undefined ? 1 : existing.lockIndex + (existing.session === op.session ? 0 : 1);
    return this.#set(op, existing, lockIndex, op.session);
  }

  /** Consul's kvsSetTxn: keeps CreateIndex, and skips the write when nothing would change. */
  #set(op: KvOperation, existing: KvEntry | undefined, lockIndex: number, session: string): KvEntry {
    const next: KvEntry = {
      key: op.key,
      value: op.value,
      flags: op.flags,
      session,
      lockIndex,
      createIndex: existing?.createIndex ?? PENDING_INDEX,
      modifyIndex: PENDING_INDEX,
    };
    if (existing && sameKvContents(existing, next)) return blanked(existing);
    this.#overlay.set(op.key, next);
    return blanked(next);
  }

  async #read(key: string): Promise<KvEntry | undefined> {
    const written = this.#overlay.get(key);
    if (written !== undefined) return written ?? undefined;
    const storeKey = this.#storeKey(key);
    if (!this.#observed.has(storeKey)) {
      this.#observed.set(storeKey, await this.#store.get(storeKey, { revision: this.#revision }));
    }
    const kv = this.#observed.get(storeKey);
    return kv && decodeKvEntry(kv, this.#prefixLength);
  }

  /** Entries under the prefix, in key order, as the operations so far left them. */
  async #readTree(prefix: string): Promise<KvEntry[]> {
    const stored = await this.#store.range(this.#storeKey(prefix), { prefix: true, revision: this.#revision });
    const byKey = new Map<string, KvEntry>();
    for (const kv of stored.kvs) {
      if (!this.#observed.has(kv.key)) this.#observed.set(kv.key, kv);
      const entry = decodeKvEntry(kv, this.#prefixLength);
      byKey.set(entry.key, entry);
    }
    for (const [key, entry] of this.#overlay) {
      if (!key.startsWith(prefix)) continue;
      if (entry) byKey.set(key, entry);
      else byKey.delete(key);
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #storeKey(key: string): string {
    return kvStoreKey(this.#dc, key);
  }
}

/** Writes answer with the entry as written but without its value, as Consul's transactions do. */
const blanked = (entry: KvEntry): KvEntry => ({ ...entry, value: null });
