import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { OAuth2Error } from "../../../src/core/errors/oauth2-error.ts";
import { AccessTokenService } from "../../../src/core/oauth2/access-token-service.ts";
import {
  AuthorizationCodeService,
  CODE_LIFETIME_SECONDS,
} from "../../../src/core/oauth2/authorization-code-service.ts";
import { s256Challenge } from "../../../src/core/oauth2/pkce.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { openTestStore } from "../../support/test-store.ts";

const grant = { scopes: ["user"], lifetime: 7200 };
const VERIFIER = "a".repeat(43);
const invalidGrant = (pattern: RegExp) => (error: unknown) =>
  error instanceof OAuth2Error && error.code === "invalid_grant" && pattern.test(error.message);

async function setUp(t: TestContext, now: () => number = Date.now) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const tokens = new AccessTokenService(store, users, { now });
  const codes = new AuthorizationCodeService(store, users, tokens, { now });
  const { user } = await users.create({ username: "ann", password: "correct horse battery" });
  return { store, users, tokens, codes, user };
}

describe("authorization code service", () => {
  it("exchanges a code once for a token with what the code granted", async (t) => {
    const { codes, tokens, user } = await setUp(t);
    const code = await codes.create(user, { ...grant, description: "laptop" });
    const issued = await codes.redeem(code, {});
    assert.equal(issued.token.lifetime, 7200);
    assert.equal(issued.token.description, "laptop");
    assert.equal((await tokens.verify(issued.accessToken))?.user.username, "ann");
    await assert.rejects(codes.redeem(code, {}), invalidGrant(/unknown, expired or already used/));
    await assert.rejects(codes.redeem("made-up", {}), invalidGrant(/unknown/));
  });

  it("of concurrent exchanges of one code exactly one wins", async (t) => {
    const { codes, tokens, user } = await setUp(t);
    const code = await codes.create(user, grant);
    const attempts = await Promise.allSettled(Array.from({ length: 4 }, () => codes.redeem(code, {})));
    assert.equal(attempts.filter((attempt) => attempt.status === "fulfilled").length, 1);
    for (const attempt of attempts) {
      if (attempt.status === "rejected") assert.ok(invalidGrant(/./)(attempt.reason), String(attempt.reason));
    }
    assert.equal((await tokens.list(user.id)).length, 1);
  });

  it("expires after its lifetime", async (t) => {
    let now = Date.now();
    const { codes, user } = await setUp(t, () => now);
    const code = await codes.create(user, grant);
    now += CODE_LIFETIME_SECONDS * 1000;
    await assert.rejects(codes.redeem(code, {}), invalidGrant(/expired/));
  });

  it("is bound to its redirect_uri: another one is refused without using the code up", async (t) => {
    const { codes, user } = await setUp(t);
    const code = await codes.create(user, { ...grant, redirectUri: "http://localhost:5177/cb" });
    await assert.rejects(codes.redeem(code, { redirectUri: "http://localhost:5178/cb" }), invalidGrant(/redirect_uri/));
    assert.ok(await codes.redeem(code, { redirectUri: "http://localhost:5177/cb" }));
    const second = await codes.create(user, { ...grant, redirectUri: "http://localhost:5177/cb" });
    assert.ok(await codes.redeem(second, {}), "a client that does not repeat redirect_uri (the Kontena CLI) is served");
  });

  it("checks the PKCE verifier when the code was requested with a challenge", async (t) => {
    const { codes, user } = await setUp(t);
    const code = await codes.create(user, { ...grant, codeChallenge: s256Challenge(VERIFIER) });
    await assert.rejects(codes.redeem(code, {}), invalidGrant(/code_verifier is required/));
    await assert.rejects(codes.redeem(code, { codeVerifier: "b".repeat(43) }), invalidGrant(/does not match/));
    assert.ok(await codes.redeem(code, { codeVerifier: VERIFIER }));
  });

  it("a code of a deleted user is refused", async (t) => {
    const { codes, users, user } = await setUp(t);
    const code = await codes.create(user, grant);
    await users.remove("ann");
    await assert.rejects(codes.redeem(code, {}), invalidGrant(/no longer exists/));
  });
});
