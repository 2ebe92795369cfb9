import type { Compare, JsonValue, StateStore, TxnOp } from "../../store/state-store.ts";
import { storedUserSchema } from "./user-record.ts";
import { USERS_PREFIX } from "./user-service.ts";

/** Part of a transaction: its guards and its writes. */
export interface TxnPart {
  readonly compare: Compare[];
  readonly success: TxnOp[];
}

/**
 * The guards and writes that take every user out of a grid, for the transaction that removes the
 * grid, so no membership outlives it (and grants access to a later grid of the same name). Each
 * write is pinned to the user record's mod_revision: a concurrent change fails the transaction
 * instead of being lost, and the caller retries.
 */
export async function gridMembershipPurge(store: StateStore, grid: string): Promise<TxnPart> {
  const { kvs } = await store.range(USERS_PREFIX, { prefix: true });
  const now = new Date().toISOString();
  const part: TxnPart = { compare: [], success: [] };
  for (const kv of kvs) {
    const user = storedUserSchema.parse(kv.value);
    if (user.grids[grid] === undefined) continue;
    const grids = { ...user.grids };
    delete grids[grid];
    part.compare.push({ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision });
    // Spread the record as stored, so fields this module does not know about are kept.
    const value = { ...(kv.value as Record<string, JsonValue>), grids, updated_at: now };
    part.success.push({ type: "put", key: kv.key, value });
  }
  return part;
}
