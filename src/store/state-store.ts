/**
 * The state store contract: an etcd-shaped, revisioned key/value store.
 *
 * Every change bumps one global revision. Values are JSON. Every record carries
 * create_revision, mod_revision, version and lease, as in etcd, so that faces can
 * expose the revision as their own index (Consul's X-Consul-Index, Director task ids…).
 * Backends: embedded (SQLite) now; etcd later. Both must pass test/store/contract.
 */

/** A JSON value as stored: null, boolean, finite number, string, array or plain object. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface KeyValue {
  readonly key: string;
  readonly value: JsonValue;
  /** Revision at which the key was created (since its last deletion). */
  readonly create_revision: number;
  /** Revision of the last change to the key. */
  readonly mod_revision: number;
  /** Number of puts since creation; 1 after the first put. */
  readonly version: number;
  /** Lease the key is attached to; 0 for none. */
  readonly lease: number;
}

export interface RangeOptions {
  /** Treat the key as a prefix: every key that starts with it. "" with prefix = all keys. */
  readonly prefix?: boolean;
  /** Read as of this revision (must not be compacted or in the future). Default: latest. */
  readonly revision?: number;
  /** Return at most this many records (the count still counts all). 0 = no limit. */
  readonly limit?: number;
  /** Return records with `value: null` to save copying. */
  readonly keysOnly?: boolean;
  /** Return no records, only the count. */
  readonly countOnly?: boolean;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  /** Number of keys in the range (ignores limit). */
  readonly count: number;
  /** True when limit cut the result. */
  readonly more: boolean;
  /** The store revision the read was served at. */
  readonly revision: number;
}

export interface PutOptions {
  readonly lease?: number;
  /** Return the record as it was before the put. */
  readonly prevKv?: boolean;
}

export interface PutResult {
  readonly revision: number;
  readonly prev?: KeyValue;
}

export interface DeleteOptions {
  readonly prefix?: boolean;
  readonly prevKv?: boolean;
}

export interface DeleteResult {
  /** The revision of the delete; the current revision when nothing was deleted. */
  readonly revision: number;
  readonly deleted: number;
  readonly prev?: KeyValue[];
}

export type CompareTarget = "value" | "version" | "create_revision" | "mod_revision" | "lease";
export type CompareOperator = "==" | "!=" | "<" | ">";

/**
 * A transaction guard. A missing key has version, create_revision, mod_revision and
 * lease 0 and no value (a value compare against a missing key is false, as in etcd).
 */
export interface Compare {
  readonly key: string;
  readonly target: CompareTarget;
  readonly op: CompareOperator;
  /** A number for the revision/version/lease targets; any JSON value for "value" (== and != only). */
  readonly value: JsonValue;
}

export type TxnOp =
  | {
      readonly type: "put";
      readonly key: string;
      readonly value: JsonValue;
      readonly lease?: number;
      readonly prevKv?: boolean;
    }
  | { readonly type: "delete"; readonly key: string; readonly prefix?: boolean; readonly prevKv?: boolean }
  | ({ readonly type: "range"; readonly key: string } & Omit<RangeOptions, "revision">);

export type TxnOpResult =
  | ({ readonly type: "put" } & PutResult)
  | ({ readonly type: "delete" } & DeleteResult)
  | ({ readonly type: "range" } & RangeResult);

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  /** Revision after the transaction (unchanged when it wrote nothing). */
  readonly revision: number;
  readonly results: TxnOpResult[];
}

export interface WatchEvent {
  readonly type: "put" | "delete";
  /** For a delete: key, mod_revision = the delete's revision, value null, other fields 0. */
  readonly kv: KeyValue;
  readonly prev?: KeyValue;
}

/** All events of one revision that match a watch, delivered together and in revision order. */
export interface WatchBatch {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

export interface WatchOptions {
  readonly key: string;
  readonly prefix?: boolean;
  /** Deliver events from this revision on (replaying history). Default: current revision + 1. */
  readonly fromRevision?: number;
  readonly prevKv?: boolean;
}

export interface Watcher {
  /** Stop delivery. Idempotent. */
  cancel(): void;
}

export interface LeaseGrant {
  readonly id: number;
  /** Granted time to live, seconds. */
  readonly ttl: number;
}

export interface LeaseInfo extends LeaseGrant {
  /** Seconds until expiry from now. */
  readonly remaining: number;
  readonly keys: string[];
}

export interface StateStore {
  /** The latest revision. Starts at 1 on an empty store (as etcd), so an index is never 0. */
  currentRevision(): number;
  /** Revisions below this are compacted: reads and watches before it fail with CompactedError. */
  compactRevision(): number;

  get(key: string, options?: Omit<RangeOptions, "prefix">): Promise<KeyValue | undefined>;
  range(key: string, options?: RangeOptions): Promise<RangeResult>;
  /**
   * The revision of the latest put or delete of any key under the prefix, tombstones included.
   * Never lower than a true answer; may be higher after compaction dropped tombstones.
   */
  lastChange(prefix: string): number;

  put(key: string, value: JsonValue, options?: PutOptions): Promise<PutResult>;
  delete(key: string, options?: DeleteOptions): Promise<DeleteResult>;
  txn(request: TxnRequest): Promise<TxnResult>;

  /**
   * Watch a key or prefix. Throws CompactedError when fromRevision is compacted.
   * The listener is called asynchronously, once per revision, in order.
   */
  watch(options: WatchOptions, listener: (batch: WatchBatch) => void): Watcher;

  grantLease(ttlSeconds: number, id?: number): Promise<LeaseGrant>;
  /** Restart the lease's clock. Throws LeaseNotFoundError when it expired or was revoked. */
  keepAlive(id: number): Promise<LeaseGrant>;
  /** Delete the lease and every key attached to it (one revision). Throws LeaseNotFoundError. */
  revokeLease(id: number): Promise<void>;
  leaseInfo(id: number): LeaseInfo | undefined;

  /** Drop history before the revision. Throws CompactedError / FutureRevisionError. */
  compact(revision: number): Promise<void>;

  /** Flush, stop timers, close files. Later calls fail with StoreClosedError. */
  close(): Promise<void>;
}
