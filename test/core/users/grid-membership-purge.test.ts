import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gridMembershipPurge } from "../../../src/core/users/grid-membership-purge.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

describe("grid membership purge", () => {
  it("drops the grid from its members only, and fails when one of them changed meanwhile", async (t) => {
    const store = await openTestStore(t);
    const users = new UserService(store);
    await makePrincipal(users, "a", { grids: { doomed: "member", kept: "grid_admin" } });
    await makePrincipal(users, "b", { grids: { kept: "member" } });
    const purge = await gridMembershipPurge(store, "doomed");
    assert.deepEqual(
      purge.compare.map((compare) => compare.key),
      ["/users/a"],
    );
    await users.setGridRole("a", "other", "member");
    assert.equal((await store.txn(purge)).succeeded, false);
    assert.equal((await store.txn(await gridMembershipPurge(store, "doomed"))).succeeded, true);
    assert.deepEqual((await users.get("a")).grids, { kept: "grid_admin", other: "member" });
    assert.deepEqual((await users.get("b")).grids, { kept: "member" });
  });
});
