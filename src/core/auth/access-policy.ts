import { ForbiddenError } from "../errors/forbidden-error.ts";
import type { GridRole } from "../users/user-record.ts";
import type { Principal } from "./principal.ts";

// Role rules from the native API spec: creating or removing a grid takes master_admin;
// changing one takes master_admin or that grid's grid_admin; using its content takes membership.

export function isMasterAdmin(principal: Principal): boolean {
  return principal.user.roles.includes("master_admin");
}

export function gridRoleOf(principal: Principal, grid: string): GridRole | undefined {
  return principal.user.grids[grid];
}

export function assertMasterAdmin(principal: Principal): void {
  if (!isMasterAdmin(principal)) throw new ForbiddenError("this needs the master_admin role");
}

export function assertGridAdmin(principal: Principal, grid: string): void {
  if (!isMasterAdmin(principal) && gridRoleOf(principal, grid) !== "grid_admin") {
    throw new ForbiddenError(`this needs the master_admin role or grid_admin of grid ${grid}`);
  }
}

export function assertGridMember(principal: Principal, grid: string): void {
  if (!isMasterAdmin(principal) && gridRoleOf(principal, grid) === undefined) {
    throw new ForbiddenError(`you are not a member of grid ${grid}`);
  }
}

export function canSeeGrid(principal: Principal, grid: string): boolean {
  return isMasterAdmin(principal) || gridRoleOf(principal, grid) !== undefined;
}
