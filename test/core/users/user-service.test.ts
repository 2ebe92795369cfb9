import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConflictError } from "../../../src/core/errors/conflict-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { openTestStore } from "../../support/test-store.ts";

const PASSWORD = "correct horse battery";

describe("user service", () => {
  it("creates the first admin once, even when asked many times at once", async (t) => {
    const users = new UserService(await openTestStore(t));
    assert.equal(await users.adminInitialized(), false);
    const attempts = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => users.initAdmin(`admin${i}`, PASSWORD)),
    );
    const won = attempts.filter((attempt) => attempt.status === "fulfilled");
    assert.equal(won.length, 1);
    for (const attempt of attempts) {
      if (attempt.status === "rejected") assert.ok(attempt.reason instanceof ConflictError);
    }
    assert.deepEqual((won[0] as PromiseFulfilledResult<{ roles: readonly string[] }>).value.roles, ["master_admin"]);
    assert.equal(await users.adminInitialized(), true);
    await assert.rejects(users.initAdmin("late", PASSWORD), ConflictError);
  });

  it("refuses empty or whitespace usernames and short passwords, writing nothing", async (t) => {
    const store = await openTestStore(t);
    const users = new UserService(store);
    const revision = store.currentRevision();
    for (const name of ["", "   ", "has space", "a/b"]) {
      await assert.rejects(
        users.initAdmin(name, PASSWORD),
        (error: unknown) => error instanceof ValidationError && "username" in error.fields,
      );
    }
    await assert.rejects(
      users.initAdmin("admin", "short"),
      (error: unknown) => error instanceof ValidationError && "password" in error.fields,
    );
    assert.equal(store.currentRevision(), revision);
  });

  it("checks passwords and keeps only a hash on disk", async (t) => {
    const dir = await makeTempDir(t);
    const store = await openTestStore(t, dir);
    const users = new UserService(store);
    await users.create({ username: "dev", email: "dev@example.test", password: PASSWORD });
    assert.equal((await users.checkPassword("dev", PASSWORD))?.username, "dev");
    assert.equal(await users.checkPassword("dev", `${PASSWORD}x`), undefined);
    assert.equal(await users.checkPassword("nobody", PASSWORD), undefined);
    assert.equal(await users.checkPassword("bad name!", PASSWORD), undefined);
    await store.close();
    const bytes = await readFile(join(dir, "berth.db"));
    const wal = await readFile(join(dir, "berth.db-wal")).catch(() => Buffer.alloc(0));
    assert.ok(!Buffer.concat([bytes, wal]).includes(PASSWORD), "the password is not stored in the clear");
  });

  it("invites a user without a password and redeems the code once", async (t) => {
    const users = new UserService(await openTestStore(t));
    const { user, invite_code } = await users.create({ username: "guest", email: "guest@example.test" });
    assert.ok(invite_code);
    assert.equal(user.invite_pending, true);
    assert.equal(user.has_password, false);
    assert.equal(await users.checkPassword("guest", ""), undefined);
    const redeemed = await users.redeemInvite(invite_code, { externalId: "idp|42", password: PASSWORD });
    assert.equal(redeemed.invite_pending, false);
    assert.equal((await users.findByExternalId("idp|42"))?.username, "guest");
    assert.equal((await users.checkPassword("guest", PASSWORD))?.username, "guest");
    await assert.rejects(users.redeemInvite(invite_code, {}), NotFoundError);
  });

  it("manages roles and grid memberships, and deletes users", async (t) => {
    const users = new UserService(await openTestStore(t));
    await users.initAdmin("root", PASSWORD);
    const { user } = await users.create({ username: "ops", password: PASSWORD });
    await users.addRole("ops", "master_admin");
    await users.addRole("ops", "master_admin");
    assert.deepEqual((await users.get("ops")).roles, ["master_admin"]);
    await users.removeRole("ops", "master_admin");
    assert.deepEqual((await users.get("ops")).roles, []);
    await users.setGridRole("ops", "prod", "grid_admin");
    await users.setGridRole("ops", "dev", "member");
    assert.deepEqual(
      (await users.gridMembers("prod")).map((member) => member.username),
      ["ops"],
    );
    await users.setGridRole("ops", "prod", null);
    assert.deepEqual((await users.get("ops")).grids, { dev: "member" });
    await assert.rejects(
      users.create({ username: "ops", password: PASSWORD }),
      (error: unknown) => error instanceof ValidationError && "username" in error.fields,
    );
    await users.remove("ops");
    await assert.rejects(users.get("ops"), NotFoundError);
    assert.equal(await users.findById(user.id), undefined);
    await assert.rejects(users.addRole("ops", "master_admin"), NotFoundError);
  });

  it("never lets the last master_admin go, even when two admins demote each other at once", async (t) => {
    const store = await openTestStore(t);
    const users = new UserService(store);
    await users.initAdmin("root", PASSWORD);
    await assert.rejects(users.removeRole("root", "master_admin"), /root is the last master_admin/);
    await assert.rejects(users.remove("root"), ConflictError);
    await users.create({ username: "ops", password: PASSWORD, roles: ["master_admin"] });
    const revision = store.currentRevision();
    const results = await Promise.allSettled([users.removeRole("root", "master_admin"), users.remove("ops")]);
    assert.equal(results.filter((result) => result.status === "fulfilled").length, 1, JSON.stringify(results));
    const admins = (await users.list()).filter((user) => user.roles.includes("master_admin"));
    assert.equal(admins.length, 1);
    assert.equal(store.currentRevision(), revision + 1, "the refused change wrote nothing");
    await assert.rejects(users.remove("nobody"), NotFoundError);
  });

  it("finds the user an unused invite code belongs to", async (t) => {
    const users = new UserService(await openTestStore(t));
    const { user, invite_code } = await users.create({ username: "invited" });
    assert.equal((await users.findByInviteCode(invite_code ?? ""))?.id, user.id);
    assert.equal(await users.findByInviteCode("made-up"), undefined);
    await users.redeemInvite(invite_code ?? "", { externalId: "provider-user-1" });
    assert.equal(await users.findByInviteCode(invite_code ?? ""), undefined);
  });
});
