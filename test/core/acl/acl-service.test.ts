import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { AclService } from "../../../src/core/acl/acl-service.ts";
import type { AclSettings } from "../../../src/core/acl/acl-settings.ts";
import { ANONYMOUS_TOKEN_ID } from "../../../src/core/acl/acl-token-record.ts";
import { AclTokenService } from "../../../src/core/acl/acl-token-service.ts";
import { sharedHclParser } from "../../../src/core/acl/hcl-parser.ts";
import { Authenticator } from "../../../src/core/auth/authenticator.ts";
import { JwtIssuer } from "../../../src/core/auth/jwt-issuer.ts";
import { LoginThrottle } from "../../../src/core/auth/login-throttle.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { openTestStore } from "../../support/test-store.ts";

const MASTER_TOKEN = "5f1c0a7e-master";
const PASSWORD = "correct horse battery";

async function setup(t: TestContext, settings: Partial<AclSettings> = {}) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const jwt = new JwtIssuer(randomBytes(32), users);
  const authenticator = new Authenticator(users, [jwt], new LoginThrottle());
  const full: AclSettings = { enabled: true, defaultPolicy: "deny", masterToken: MASTER_TOKEN, ...settings };
  const tokens = new AclTokenService(store, sharedHclParser, full.masterToken);
  await tokens.ensureAnonymous();
  const acls = new AclService(store, full, authenticator, sharedHclParser);
  return { store, users, jwt, tokens, acls };
}

describe("ACL service", () => {
  it("allows everything when ACLs are disabled, whatever the token", async (t) => {
    const { acls } = await setup(t, { enabled: false });
    assert.equal(acls.enabled, false);
    for (const token of ["", "garbage"]) {
      const { acl } = await acls.resolve(token);
      assert.equal(acl.management, true);
      assert.equal(acl.keyWrite("anything"), true);
    }
  });

  it("gives the master token and management tokens everything", async (t) => {
    const { acls, tokens } = await setup(t);
    assert.equal((await acls.resolve(MASTER_TOKEN)).acl.management, true);
    const id = await tokens.set({ type: "management" });
    const { acl } = await acls.resolve(id);
    assert.equal(acl.management, true);
    assert.equal(acl.keyWritePrefix(""), true);
  });

  it("applies a client token's rules over the default policy", async (t) => {
    const { acls, tokens } = await setup(t);
    const id = await tokens.set({ rules: 'key "foo/" { policy = "write" }\nservice "web" { policy = "read" }' });
    const { acl, principal } = await acls.resolve(id);
    assert.equal(principal, undefined);
    assert.equal(acl.management, false);
    assert.equal(acl.keyWrite("foo/bar"), true);
    assert.equal(acl.keyRead("other"), false);
    assert.equal(acl.serviceRead("web"), true);
    assert.equal(acl.serviceWrite("web"), false);
    assert.equal(acl.eventRead("x"), false);
  });

  it("lets names no rule covers through under default policy allow", async (t) => {
    const { acls, tokens } = await setup(t, { defaultPolicy: "allow" });
    const id = await tokens.set({ rules: 'key "locked/" { policy = "deny" }' });
    const { acl } = await acls.resolve(id);
    assert.equal(acl.keyWrite("open"), true);
    assert.equal(acl.keyRead("locked/x"), false);
    assert.equal((await acls.resolve("")).acl.serviceWrite("web"), true);
  });

  it("serves tokenless requests with the anonymous token's rules, as edited", async (t) => {
    const { acls, tokens } = await setup(t);
    assert.equal((await acls.resolve("")).acl.keyRead("public/x"), false);
    await tokens.set({ id: ANONYMOUS_TOKEN_ID, rules: 'key "public/" { policy = "read" }' });
    const { acl } = await acls.resolve("");
    assert.equal(acl.keyRead("public/x"), true);
    assert.equal(acl.keyWrite("public/x"), false);
    assert.equal(acl.keyRead("private/x"), false);
  });

  it("sees a changed or destroyed token on the very next request", async (t) => {
    const { acls, tokens } = await setup(t);
    const id = await tokens.set({ rules: 'key "a/" { policy = "read" }' });
    assert.equal((await acls.resolve(id)).acl.keyRead("a/1"), true);
    await tokens.set({ id, rules: 'key "b/" { policy = "read" }' });
    const changed = (await acls.resolve(id)).acl;
    assert.equal(changed.keyRead("a/1"), false);
    assert.equal(changed.keyRead("b/1"), true);
    await tokens.destroy(id);
    await assert.rejects(acls.resolve(id), (error: unknown) => {
      return error instanceof ForbiddenError && error.message === "ACL not found";
    });
  });

  it("treats a master_admin's Berth token as management and another user's as anonymous", async (t) => {
    const { acls, users, jwt, tokens } = await setup(t);
    await tokens.set({ id: ANONYMOUS_TOKEN_ID, rules: 'key "public/" { policy = "read" }' });
    const admin = (await users.create({ username: "root", password: PASSWORD, roles: ["master_admin"] })).user;
    const plain = (await users.create({ username: "dev", password: PASSWORD })).user;

    const asAdmin = await acls.resolve(await jwt.issue(admin));
    assert.equal(asAdmin.acl.management, true);
    assert.equal(asAdmin.principal?.user.username, "root");

    const asUser = await acls.resolve(await jwt.issue(plain));
    assert.equal(asUser.acl.management, false);
    assert.equal(asUser.acl.keyRead("public/x"), true);
    assert.equal(asUser.acl.keyRead("private/x"), false);
    assert.equal(asUser.principal?.user.username, "dev");
  });

  it("refuses a token that is neither an ACL token nor a valid Berth token with ACL not found", async (t) => {
    const { acls, users, jwt } = await setup(t);
    const gone = (await users.create({ username: "gone", password: PASSWORD })).user;
    const orphan = await jwt.issue(gone);
    await users.remove("gone");
    for (const token of ["no-such-token", orphan]) {
      await assert.rejects(acls.resolve(token), /^ForbiddenError: ACL not found$/);
    }
  });
});
