/** The KV verbs of Consul's /v1/txn; single-key PUT and DELETE map onto the same verbs. */
export const KV_VERBS = [
  "set",
  "cas",
  "lock",
  "unlock",
  "get",
  "get-tree",
  "check-index",
  "check-session",
  "check-not-exists",
  "delete",
  "delete-tree",
  "delete-cas",
] as const;

export type KvVerb = (typeof KV_VERBS)[number];

const WRITE_VERBS: ReadonlySet<string> = new Set<KvVerb>([
  "set",
  "cas",
  "lock",
  "unlock",
  "delete",
  "delete-tree",
  "delete-cas",
]);

/** One KV operation. `verb` stays a string: an unknown verb fails its operation, as in Consul. */
export interface KvOperation {
  readonly verb: string;
  readonly key: string;
  /** base64; null for an empty value. */
  readonly value: string | null;
  /** uint64 as decimal text. */
  readonly flags: string;
  /** The ModifyIndex a cas, delete-cas or check-index expects (0 for cas: "must not exist"). */
  readonly index: number;
  readonly session: string;
}

/** A KV operation with only what its verb needs; the rest defaults to empty. */
export function kvOperation(verb: KvVerb, key: string, fields: Partial<Omit<KvOperation, "verb" | "key">> = {}) {
  return { verb, key, value: null, flags: "0", index: 0, session: "", ...fields } satisfies KvOperation;
}

/** True for the verbs that change the store; a transaction of other verbs only reads. */
export const isWriteVerb = (verb: string): boolean => WRITE_VERBS.has(verb);

/**
 * Why an operation failed. `refused`: its condition did not hold (a stale index, a held lock): a
 * single-key PUT or DELETE answers false. `invalid`: it cannot run at all (no such session):
 * Consul answers 500. `denied`: the ACL forbids it: 403.
 */
export type KvOpErrorKind = "refused" | "invalid" | "denied";

export interface KvOpError {
  readonly opIndex: number;
  readonly what: string;
  readonly kind: KvOpErrorKind;
}
