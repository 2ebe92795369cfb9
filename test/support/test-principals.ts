import type { Principal } from "../../src/core/auth/principal.ts";
import type { GridRole } from "../../src/core/users/user-record.ts";
import type { UserService } from "../../src/core/users/user-service.ts";

const PASSWORD = "correct horse battery";

/** Creates a user (a master_admin, or with the given grid roles) and returns them as a caller. */
export async function makePrincipal(
  users: UserService,
  username: string,
  roles: { readonly admin?: boolean; readonly grids?: Readonly<Record<string, GridRole>> } = {},
): Promise<Principal> {
  await users.create({ username, password: PASSWORD, roles: roles.admin ? ["master_admin"] : [] });
  for (const [grid, role] of Object.entries(roles.grids ?? {})) await users.setGridRole(username, grid, role);
  return { user: await users.get(username), method: "password", scopes: ["user"] };
}
