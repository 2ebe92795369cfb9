import type { JsonValue, KeyValue } from "../../store/state-store.ts";

/** What happens to the locks a session holds when it is invalidated. */
export type SessionBehavior = "release" | "delete";

/** A Consul session, as the core hands it to the face. */
export interface Session {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  readonly checks: readonly string[];
  /** Nanoseconds, as given (Consul caps it at 60 s only when it arms the delay). */
  readonly lockDelayNs: number;
  readonly behavior: SessionBehavior;
  /** The TTL as the client wrote it ("15s"); "" for none. */
  readonly ttl: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** What the store keeps under `/consul/<dc>/sessions/<id>`, with the lease behind a TTL session's marker (0: none). */
type StoredSession = Omit<Session, "id" | "createIndex" | "modifyIndex"> & { readonly lease: number };

export type SessionFields = Omit<Session, "createIndex" | "modifyIndex">;

export function encodeSession(session: SessionFields, lease: number): JsonValue {
  const { id: _id, ...fields } = session;
  return { ...fields, checks: [...fields.checks], lease } satisfies StoredSession;
}

/** The session stored in `kv`, and the lease behind its TTL (0 for none). */
export function decodeSession(kv: KeyValue): { readonly session: Session; readonly lease: number } {
  const { lease, ...fields } = kv.value as unknown as StoredSession;
  const id = kv.key.slice(kv.key.lastIndexOf("/") + 1);
  return { session: { ...fields, id, createIndex: kv.create_revision, modifyIndex: kv.mod_revision }, lease };
}
