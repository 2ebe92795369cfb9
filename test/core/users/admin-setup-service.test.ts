import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConflictError } from "../../../src/core/errors/conflict-error.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { UnauthorizedError } from "../../../src/core/errors/unauthorized-error.ts";
import { type AdminBootstrap, AdminSetupService } from "../../../src/core/users/admin-setup-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { openTestStore } from "../../support/test-store.ts";

const PASSWORD = "correct horse battery";

function setupCode(bootstrap: AdminBootstrap): string {
  assert.equal(bootstrap.kind, "setup-code");
  return bootstrap.kind === "setup-code" ? bootstrap.code : "";
}

describe("admin setup", () => {
  it("hands out a setup code on a fresh master and creates the admin only with it", async (t) => {
    const users = new UserService(await openTestStore(t));
    const setup = new AdminSetupService(users);
    const code = setupCode(await setup.bootstrap({ dev: false }));
    assert.match(code, /^[0-9a-f]{32}$/);
    await assert.rejects(setup.initAdmin("root", PASSWORD, undefined), /printed on its standard output/);
    await assert.rejects(setup.initAdmin("root", PASSWORD, ""), UnauthorizedError);
    await assert.rejects(setup.initAdmin("root", PASSWORD, `${code}x`), ForbiddenError);
    assert.equal(await users.adminInitialized(), false);
    const admin = await setup.initAdmin("root", PASSWORD, code);
    assert.deepEqual(admin.roles, ["master_admin"]);
    await assert.rejects(setup.initAdmin("other", PASSWORD, code), ConflictError);
    assert.deepEqual(await setup.bootstrap({ dev: false }), { kind: "exists" });
  });

  it("every master has its own code", async (t) => {
    const store = await openTestStore(t);
    const first = setupCode(await new AdminSetupService(new UserService(store)).bootstrap({ dev: false }));
    const second = setupCode(await new AdminSetupService(new UserService(store)).bootstrap({ dev: false }));
    assert.notEqual(first, second);
  });

  it("creates admin from BERTH_ADMIN_PASSWORD once, and leaves an existing admin alone", async (t) => {
    const users = new UserService(await openTestStore(t));
    const setup = new AdminSetupService(users);
    const created = await setup.bootstrap({ dev: false, password: PASSWORD });
    assert.equal(created.kind, "from-env");
    assert.equal((await users.checkPassword("admin", PASSWORD))?.username, "admin");
    assert.deepEqual(await setup.bootstrap({ dev: false, password: "another long password" }), { kind: "exists" });
    assert.equal((await users.checkPassword("admin", PASSWORD))?.username, "admin", "the password did not change");
  });

  it("dev mode sets a fresh random admin password at every start, or the given one", async (t) => {
    const users = new UserService(await openTestStore(t));
    const setup = new AdminSetupService(users);
    const first = await setup.bootstrap({ dev: true });
    const second = await setup.bootstrap({ dev: true });
    assert.ok(first.kind === "dev" && second.kind === "dev");
    assert.ok(first.generatedPassword && second.generatedPassword);
    assert.ok(first.generatedPassword.length >= 12);
    assert.notEqual(first.generatedPassword, second.generatedPassword);
    assert.equal(await users.checkPassword("admin", first.generatedPassword), undefined);
    assert.equal((await users.checkPassword("admin", second.generatedPassword))?.username, "admin");
    const chosen = await setup.bootstrap({ dev: true, password: PASSWORD });
    assert.ok(chosen.kind === "dev" && chosen.generatedPassword === undefined);
    assert.equal((await users.checkPassword("admin", PASSWORD))?.username, "admin");
  });

  it("dev mode on a data directory whose admin has another name adds admin beside it", async (t) => {
    const users = new UserService(await openTestStore(t));
    await users.initAdmin("root", PASSWORD);
    const dev = await new AdminSetupService(users).bootstrap({ dev: true });
    assert.ok(dev.kind === "dev");
    assert.deepEqual(dev.user.roles, ["master_admin"]);
    assert.deepEqual((await users.list()).map((user) => user.username).sort(), ["admin", "root"]);
  });
});
