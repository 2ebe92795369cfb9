import type { JsonValue, KeyValue } from "../../store/state-store.ts";

/** A Consul KV entry (Consul's DirEntry), as the core hands it to the face. */
export interface KvEntry {
  readonly key: string;
  /** The value in base64; null when empty (Consul renders an empty value as null). */
  readonly value: string | null;
  /** An opaque uint64, as decimal text so that values past 2^53 stay exact. */
  readonly flags: string;
  /** The session holding the lock; "" when none. */
  readonly session: string;
  /** Number of successful lock acquisitions. */
  readonly lockIndex: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** What the store keeps under the entry's key; the indexes are the record's revisions. */
interface StoredKvEntry {
  readonly value?: string | null;
  readonly flags?: string;
  readonly lockIndex?: number;
  /** Absent when no session holds the entry. */
  readonly session?: string;
}

export function encodeKvEntry(entry: Pick<KvEntry, "value" | "flags" | "session" | "lockIndex">): JsonValue {
  const stored = { value: entry.value, flags: entry.flags, lockIndex: entry.lockIndex };
  return entry.session === "" ? stored : { ...stored, session: entry.session };
}

/** The entry stored in `kv`, whose store key is the datacenter's KV prefix plus the Consul key. */
export function decodeKvEntry(kv: KeyValue, prefixLength: number): KvEntry {
  const stored = kv.value as StoredKvEntry;
  return {
    key: kv.key.slice(prefixLength),
    value: stored.value ?? null,
    flags: stored.flags ?? "0",
    session: stored.session ?? "",
    lockIndex: stored.lockIndex ?? 0,
    createIndex: kv.create_revision,
    modifyIndex: kv.mod_revision,
  };
}

/** Same contents (indexes aside): Consul skips such a write, leaving ModifyIndex where it was. */
export function sameKvContents(a: KvEntry, b: KvEntry): boolean {
  return a.value === b.value && a.flags === b.flags && a.session === b.session && a.lockIndex === b.lockIndex;
}
