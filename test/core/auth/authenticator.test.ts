import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { SignJWT } from "jose";
import { Authenticator } from "../../../src/core/auth/authenticator.ts";
import { JwtIssuer } from "../../../src/core/auth/jwt-issuer.ts";
import { LoginThrottle } from "../../../src/core/auth/login-throttle.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { TooManyRequestsError } from "../../../src/core/errors/too-many-requests-error.ts";
import { UnauthorizedError } from "../../../src/core/errors/unauthorized-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { openTestStore } from "../../support/test-store.ts";

const PASSWORD = "correct horse battery";

describe("authenticator", () => {
  it("accepts a JWT it issued, and refuses forged, expired and orphaned ones", async (t) => {
    const users = new UserService(await openTestStore(t));
    const key = randomBytes(32);
    const jwt = new JwtIssuer(key, users);
    const auth = new Authenticator(users, [jwt], new LoginThrottle());
    const { user } = await users.create({ username: "ann", password: PASSWORD });
    const token = await jwt.issue(user);
    assert.equal((await auth.bearer(token)).user.username, "ann");

    const otherMaster = new JwtIssuer(randomBytes(32), users);
    await assert.rejects(auth.bearer(await otherMaster.issue(user)), UnauthorizedError);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuer("berth")
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new Uint8Array(32));
    await assert.rejects(auth.bearer(expired), UnauthorizedError);
    await assert.rejects(auth.bearer("not-a-token"), UnauthorizedError);
    await users.remove("ann");
    await assert.rejects(auth.bearer(token), /no longer exists/);
  });

  it("locks out an address after repeated wrong passwords", async (t) => {
    const users = new UserService(await openTestStore(t));
    await users.create({ username: "bob", password: PASSWORD });
    let now = 1_000_000;
    const auth = new Authenticator(
      users,
      [],
      new LoginThrottle({ maxFailures: 3, windowMs: 60_000, lockMs: 30_000, now: () => now }),
    );
    const source = { address: "10.0.0.9" };
    for (let i = 0; i < 3; i++)
      await assert.rejects(auth.password("bob", "wrong password!", source), UnauthorizedError);
    await assert.rejects(
      auth.password("bob", PASSWORD, source),
      (error: unknown) => error instanceof TooManyRequestsError && error.retryAfterSeconds === 30,
    );
    await assert.rejects(
      auth.password("bob", PASSWORD, { address: "10.0.0.10" }),
      TooManyRequestsError,
      "the user is locked from any address too",
    );
    now += 31_000;
    assert.equal((await auth.password("bob", PASSWORD, source)).user.username, "bob");
  });

  it("accepts an invite once with a new password, and throttles guessed codes per address", async (t) => {
    const users = new UserService(await openTestStore(t));
    const { invite_code } = await users.create({ username: "guest" });
    const auth = new Authenticator(users, [], new LoginThrottle({ maxFailures: 2 }));
    const source = { address: "10.0.0.7" };
    await assert.rejects(auth.acceptInvite(invite_code as string, "short", source), ValidationError);
    const user = await auth.acceptInvite(invite_code as string, PASSWORD, source);
    assert.equal(user.has_password, true);
    assert.equal((await auth.password("guest", PASSWORD, source)).user.username, "guest");
    await assert.rejects(auth.acceptInvite(invite_code as string, PASSWORD, source), NotFoundError);
    await assert.rejects(auth.acceptInvite("guessed", PASSWORD, source), NotFoundError);
    await assert.rejects(auth.acceptInvite("guessed", PASSWORD, source), TooManyRequestsError);
    await assert.rejects(auth.acceptInvite("guessed", PASSWORD, { address: "10.0.0.8" }), NotFoundError);
  });
});
