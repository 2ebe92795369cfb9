import { randomUUID } from "node:crypto";
import type { StateStore } from "../../store/state-store.ts";

/** The store key of the installation's identity record. */
export const IDENTITY_KEY = "/master/identity";

export interface MasterIdentity {
  /** Generated once per installation (data directory or etcd cluster), stable across restarts. */
  readonly uuid: string;
  readonly created_at: string;
}

/** The installation's identity, created on first start and shared by every master of the cluster. */
export class MasterIdentityService {
  readonly #store: StateStore;
  #identity: MasterIdentity | undefined;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Loads the identity, creating it if this is the first start. Call once before serving. */
  async load(): Promise<MasterIdentity> {
    const candidate: MasterIdentity = { uuid: randomUUID(), created_at: new Date().toISOString() };
    // Create only if absent, so that masters starting together agree on one identity.
    const result = await this.#store.txn({
      compare: [{ key: IDENTITY_KEY, target: "create_revision", op: "==", value: 0 }],
      success: [{ type: "put", key: IDENTITY_KEY, value: { ...candidate } }],
      failure: [{ type: "range", key: IDENTITY_KEY }],
    });
    const stored = result.results[0];
    this.#identity =
      result.succeeded || stored?.type !== "range" ? candidate : (stored.kvs[0]?.value as unknown as MasterIdentity);
    return this.#identity;
  }

  /** The identity; load() must have run. */
  identity(): MasterIdentity {
    if (!this.#identity) throw new Error("MasterIdentityService.load() has not run");
    return this.#identity;
  }
}
