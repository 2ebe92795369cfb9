import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { GridMemberService, newGridMemberSchema } from "../../../src/core/grids/grid-member-service.ts";
import { newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { GridService } from "../../../src/core/grids/grid-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { parseInput } from "../../../src/core/validation/parse-input.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

const member = (input: Record<string, unknown>) => parseInput(newGridMemberSchema, input);

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const grids = new GridService(store, new SecretBox(randomBytes(32)), []);
  const members = new GridMemberService(grids, users);
  const admin = await makePrincipal(users, "admin", { admin: true });
  await grids.create(admin, newGridSchema.parse({ name: "my-grid" }));
  const gridAdmin = await makePrincipal(users, "ga", { grids: { "my-grid": "grid_admin" } });
  const plain = await makePrincipal(users, "plain", { grids: { "my-grid": "member" } });
  await users.create({ username: "newbie", email: "newbie@example.com", password: "correct horse battery" });
  return { users, grids, members, admin, gridAdmin, plain };
}

describe("grid member service", () => {
  it("lets a grid_admin add users by username or e-mail, change their role and remove them", async (t) => {
    const { users, members, gridAdmin } = await setup(t);
    const added = await members.add(gridAdmin, "my-grid", member({ email: "NEWBIE@example.com" }));
    assert.deepEqual(
      { username: added.username, email: added.email, role: added.role },
      { username: "newbie", email: "newbie@example.com", role: "member" },
    );
    await members.add(gridAdmin, "my-grid", member({ username: "newbie", role: "grid_admin" }));
    assert.deepEqual((await members.list(gridAdmin, "my-grid")).map((entry) => [entry.username, entry.role]).sort(), [
      ["ga", "grid_admin"],
      ["newbie", "grid_admin"],
      ["plain", "member"],
    ]);
    await members.remove(gridAdmin, "my-grid", "newbie");
    assert.deepEqual((await users.get("newbie")).grids, {});
    await assert.rejects(members.remove(gridAdmin, "my-grid", "newbie"), NotFoundError);
  });

  it("keeps plain members and outsiders from seeing or changing membership", async (t) => {
    const { members, plain } = await setup(t);
    await assert.rejects(members.list(plain, "my-grid"), ForbiddenError);
    await assert.rejects(members.add(plain, "my-grid", member({ username: "newbie" })), ForbiddenError);
    await assert.rejects(members.remove(plain, "my-grid", "ga"), ForbiddenError);
  });

  it("names the field of an unknown user and answers 404 for an unknown grid", async (t) => {
    const { members, admin } = await setup(t);
    for (const [input, field] of [
      [{ username: "ghost" }, "username"],
      [{ username: "bad name" }, "username"],
      [{ email: "ghost@example.com" }, "email"],
    ] as const) {
      await assert.rejects(
        members.add(admin, "my-grid", member(input)),
        (error: unknown) => error instanceof ValidationError && error.fields[field] === "no such user",
      );
    }
    await assert.rejects(members.add(admin, "nope", member({ username: "newbie" })), NotFoundError);
    await assert.rejects(members.list(admin, "nope"), NotFoundError);
  });

  it("never leaves a membership of a grid removed meanwhile", async (t) => {
    const { users, grids, members, admin } = await setup(t);
    await Promise.all([
      members.add(admin, "my-grid", member({ username: "newbie" })).catch((error: unknown) => error),
      grids.remove(admin, "my-grid"),
    ]);
    assert.deepEqual((await users.get("newbie")).grids, {});
  });

  it("validates the request body", () => {
    assert.throws(
      () => member({}),
      (error: unknown) => error instanceof ValidationError && "username" in error.fields,
    );
    assert.throws(
      () => member({ username: "x", role: "master_admin" }),
      (error: unknown) => error instanceof ValidationError && "role" in error.fields,
    );
  });
});
