import type { JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import type { GridService } from "./grid-service.ts";

const MAX_ATTEMPTS = 10;

/**
 * Read-modify-write of one record that belongs to a grid (a secret, a registry), in a transaction
 * guarded by the grid's existence: a record never lands in a grid removed meanwhile, and a
 * concurrent writer of the same record makes it retry rather than lose an update.
 * `change` gets the current record and returns the new value; it may throw a domain error.
 * Throws NotFoundError when the grid does not exist (or is removed while this runs).
 */
export async function writeInGrid<T extends JsonValue>(
  store: StateStore,
  grids: GridService,
  grid: string,
  key: string,
  change: (current: KeyValue | undefined) => T,
): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const guard = await grids.guard(grid);
    const current = await store.get(key);
    const next = change(current);
    const result = await store.txn({
      compare: [guard, { key, target: "mod_revision", op: "==", value: current?.mod_revision ?? 0 }],
      success: [{ type: "put", key, value: next }],
    });
    if (result.succeeded) return next;
  }
  throw new ConflictError(`${key} is being changed concurrently; try again`);
}
