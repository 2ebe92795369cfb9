import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { OAuth2Error } from "../../../src/core/errors/oauth2-error.ts";
import { UnauthorizedError } from "../../../src/core/errors/unauthorized-error.ts";
import { AccessTokenService, REFRESH_TOKEN_LIFETIME_SECONDS } from "../../../src/core/oauth2/access-token-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { openTestStore } from "../../support/test-store.ts";

const PASSWORD = "correct horse battery";
const grant = { scopes: ["user"], lifetime: 3600 };

const isOAuth2 = (code: string) => (error: unknown) => error instanceof OAuth2Error && error.code === code;

async function setUp(t: import("node:test").TestContext, now?: () => number) {
  const dir = await makeTempDir(t);
  const store = await openTestStore(t, dir);
  const users = new UserService(store);
  const tokens = new AccessTokenService(store, users, now ? { now } : {});
  const { user: ann } = await users.create({ username: "ann", password: PASSWORD });
  const { user: bob } = await users.create({ username: "bob", password: PASSWORD });
  return { dir, store, users, tokens, ann, bob };
}

describe("access token service", () => {
  it("issues tokens it verifies, recognisable by prefix, and leaves other kinds to other verifiers", async (t) => {
    const { tokens, ann } = await setUp(t);
    const issued = await tokens.issue(ann, grant);
    assert.match(issued.accessToken, /^berth_at_[A-Za-z0-9_-]{43}$/);
    assert.match(issued.refreshToken ?? "", /^berth_rt_[A-Za-z0-9_-]{43}$/);
    assert.equal(issued.token.access_token_last_four, issued.accessToken.slice(-4));
    const principal = await tokens.verify(issued.accessToken);
    assert.equal(principal?.user.username, "ann");
    assert.equal(principal?.method, "access_token");
    assert.equal(principal?.tokenId, issued.token.id);
    assert.deepEqual(principal?.scopes, ["user"]);

    assert.equal(await tokens.verify("eyJhbGciOiJIUzI1NiJ9.e30.sig"), undefined, "a JWT is not this verifier's");
    await assert.rejects(tokens.verify(`berth_at_${"A".repeat(43)}`), UnauthorizedError);
    await assert.rejects(tokens.verify(issued.refreshToken ?? ""), /refresh token is no access token/);
  });

  it("keeps only hashes: no token reaches the database file", async (t) => {
    const { dir, store, tokens, ann } = await setUp(t);
    const issued = await tokens.issue(ann, grant);
    await store.close();
    const file = await readFile(join(dir, "berth.db"));
    for (const secret of [issued.accessToken, issued.refreshToken ?? "", issued.accessToken.slice(9)]) {
      assert.equal(file.includes(secret), false, "a token is on disk in the clear");
    }
  });

  it("a token that never expires has no refresh token and keeps working", async (t) => {
    let now = Date.now();
    const { tokens, ann } = await setUp(t, () => now);
    const issued = await tokens.issue(ann, { scopes: ["user"], lifetime: 0 });
    assert.equal(issued.refreshToken, null);
    assert.equal(issued.token.expires_at, null);
    now += 20 * 365 * 24 * 3600 * 1000;
    assert.equal((await tokens.verify(issued.accessToken))?.user.username, "ann");
  });

  it("refuses an expired access token, and refreshes it until the refresh token expires too", async (t) => {
    let now = Date.now();
    const { tokens, ann } = await setUp(t, () => now);
    const first = await tokens.issue(ann, grant);
    now += 3600 * 1000;
    await assert.rejects(tokens.verify(first.accessToken), /expired/);
    const second = await tokens.refresh(first.refreshToken ?? "");
    assert.equal(second.token.lifetime, 3600);
    assert.equal((await tokens.verify(second.accessToken))?.user.username, "ann");

    now += REFRESH_TOKEN_LIFETIME_SECONDS * 1000;
    await assert.rejects(tokens.refresh(second.refreshToken ?? ""), isOAuth2("invalid_grant"));
  });

  it("rotates on refresh: the old access and refresh tokens stop working, and a race has one winner", async (t) => {
    const { tokens, ann } = await setUp(t);
    const first = await tokens.issue(ann, grant);
    const attempts = await Promise.allSettled([1, 2, 3].map(() => tokens.refresh(first.refreshToken ?? "")));
    const won = attempts.filter((attempt) => attempt.status === "fulfilled");
    assert.equal(won.length, 1, "exactly one refresh may win");
    for (const attempt of attempts) {
      if (attempt.status === "rejected") assert.ok(isOAuth2("invalid_grant")(attempt.reason), String(attempt.reason));
    }
    await assert.rejects(tokens.verify(first.accessToken), UnauthorizedError);
    await assert.rejects(tokens.refresh(first.refreshToken ?? ""), isOAuth2("invalid_grant"));
    assert.deepEqual(
      (await tokens.list(ann.id)).map((token) => token.id),
      [(won[0] as PromiseFulfilledResult<{ token: { id: string } }>).value.token.id],
    );
  });

  it("a refresh keeps or narrows the scopes, never adds unknown ones", async (t) => {
    const { tokens, ann } = await setUp(t);
    const first = await tokens.issue(ann, grant);
    await assert.rejects(tokens.refresh(first.refreshToken ?? "", "admin"), isOAuth2("invalid_scope"));
    const second = await tokens.refresh(first.refreshToken ?? "", "user");
    assert.deepEqual(second.token.scopes, ["user"]);
  });

  it("lists, shows and revokes only the owner's tokens", async (t) => {
    const { tokens, ann, bob } = await setUp(t);
    const annToken = await tokens.issue(ann, grant);
    const bobToken = await tokens.issue(bob, { ...grant, description: "ci" });
    assert.deepEqual(
      (await tokens.list(ann.id)).map((token) => token.id),
      [annToken.token.id],
    );
    assert.equal((await tokens.get(bob.id, bobToken.token.id)).description, "ci");
    await assert.rejects(tokens.get(ann.id, bobToken.token.id), NotFoundError);
    await assert.rejects(tokens.revoke(ann.id, bobToken.token.id), NotFoundError);
    await assert.rejects(tokens.get(ann.id, "../../users/ann"), NotFoundError);
    assert.equal((await tokens.verify(bobToken.accessToken))?.user.username, "bob");

    await tokens.revoke(bob.id, bobToken.token.id);
    await assert.rejects(tokens.verify(bobToken.accessToken), UnauthorizedError);
    await assert.rejects(tokens.refresh(bobToken.refreshToken ?? ""), isOAuth2("invalid_grant"));
    await assert.rejects(tokens.revoke(bob.id, bobToken.token.id), NotFoundError);
  });

  it("tokens of a deleted user stop working", async (t) => {
    const { tokens, users, ann } = await setUp(t);
    const issued = await tokens.issue(ann, grant);
    await users.remove("ann");
    await assert.rejects(tokens.verify(issued.accessToken), /no longer exists/);
    await assert.rejects(tokens.refresh(issued.refreshToken ?? ""), isOAuth2("invalid_grant"));
  });

  it("refuses lifetimes out of range, writing nothing", async (t) => {
    const { store, tokens, ann } = await setUp(t);
    const revision = store.currentRevision();
    for (const lifetime of [-1, 1.5, 11 * 365 * 24 * 3600]) {
      await assert.rejects(tokens.issue(ann, { scopes: ["user"], lifetime }), isOAuth2("invalid_request"));
    }
    assert.equal(store.currentRevision(), revision);
  });
});
