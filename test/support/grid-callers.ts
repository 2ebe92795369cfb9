import assert from "node:assert/strict";
import type { GridRole } from "../../src/core/users/user-record.ts";
import { sendJson } from "./http-client.ts";
import { loginToken, type TestMaster } from "./test-master.ts";

const PASSWORD = "a-test-user-password";

export type AuthHeaders = Readonly<Record<string, string>>;

/** The callers of a role matrix: the master's admin, a grid_admin and a member of the grid, a user outside it, nobody. */
export interface GridCallers {
  readonly admin: AuthHeaders;
  readonly gridAdmin: AuthHeaders;
  readonly member: AuthHeaders;
  readonly outsider: AuthHeaders;
  readonly anonymous: AuthHeaders;
}

/** Creates a user through the API, gives them grid roles, and logs them in. */
export async function userHeaders(
  master: TestMaster,
  username: string,
  grids: Readonly<Record<string, GridRole>> = {},
): Promise<AuthHeaders> {
  const created = await sendJson(master.url, "/v1/users", "POST", { username, password: PASSWORD }, master.auth);
  assert.equal(created.status, 201, created.text);
  for (const [grid, role] of Object.entries(grids)) {
    const added = await sendJson(master.url, `/v1/grids/${grid}/users`, "POST", { username, role }, master.auth);
    assert.equal(added.status, 201, added.text);
  }
  return { authorization: `Bearer ${await loginToken(master.url, username, PASSWORD)}` };
}

/** Creates the grid (as the admin) and one caller of each kind for it. */
export async function gridCallers(master: TestMaster, grid: string): Promise<GridCallers> {
  const created = await sendJson(master.url, "/v1/grids", "POST", { name: grid }, master.auth);
  assert.equal(created.status, 201, created.text);
  return {
    admin: master.auth,
    gridAdmin: await userHeaders(master, `${grid}-admin`, { [grid]: "grid_admin" }),
    member: await userHeaders(master, `${grid}-member`, { [grid]: "member" }),
    outsider: await userHeaders(master, `${grid}-outsider`),
    anonymous: {},
  };
}
