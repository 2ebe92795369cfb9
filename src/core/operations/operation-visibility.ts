import type { Principal } from "../auth/principal.ts";
import type { OperationRecord } from "./operation-record.ts";

/** Master admins see every operation; anyone else those of the grids they belong to (in any role). */
export function canSeeOperation(principal: Principal, operation: Pick<OperationRecord, "grid">): boolean {
  return principal.user.roles.includes("master_admin") || Object.hasOwn(principal.user.grids, operation.grid);
}
