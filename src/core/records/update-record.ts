import type { JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";

const MAX_ATTEMPTS = 10;

/**
 * Read-modify-write of one record with compare-and-swap on its mod_revision, retried when
 * another writer (this master or another) got there first, so no update is lost.
 * `change` receives the current record (or undefined) and returns the new value, or
 * undefined to write nothing. It may throw a domain error to refuse the change.
 */
export async function updateRecord<T extends JsonValue>(
  store: StateStore,
  key: string,
  change: (current: KeyValue | undefined) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.get(key);
    const next = await change(current);
    if (next === undefined) return undefined;
    const result = await store.txn({
      compare: [{ key, target: "mod_revision", op: "==", value: current?.mod_revision ?? 0 }],
      success: [{ type: "put", key, value: next }],
    });
    if (result.succeeded) return next;
  }
  throw new ConflictError(`${key} is being changed concurrently; try again`);
}
