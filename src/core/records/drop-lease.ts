import { LeaseNotFoundError } from "../../store/errors/lease-not-found-error.ts";
import type { StateStore } from "../../store/state-store.ts";

/**
 * Revokes a lease whose records are gone (used up, rotated, revoked) so it does not sit in the
 * store until its TTL. One that already expired is fine; 0 means the record had no lease.
 */
export async function dropLease(store: StateStore, lease: number): Promise<void> {
  if (lease === 0) return;
  try {
    await store.revokeLease(lease);
  } catch (error) {
    if (!(error instanceof LeaseNotFoundError)) throw error;
  }
}
