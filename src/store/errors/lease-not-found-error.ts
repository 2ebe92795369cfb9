import { StoreError } from "./store-error.ts";

/** The lease never existed, expired, or was revoked. */
export class LeaseNotFoundError extends StoreError {
  readonly leaseId: number;

  constructor(leaseId: number) {
    super("lease_not_found", `lease ${leaseId} not found (expired or revoked)`);
    this.leaseId = leaseId;
  }
}
