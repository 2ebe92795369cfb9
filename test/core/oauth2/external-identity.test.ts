import assert from "node:assert/strict";
import { test } from "node:test";
import { identityFrom } from "../../../src/core/oauth2/external-identity.ts";

test("OIDC: the subject from the ID token, e-mail and its verification from userinfo", () => {
  assert.deepEqual(identityFrom({ sub: "u1" }, { sub: "u1", email: "ann@example.com", email_verified: true }), {
    subject: "u1",
    email: "ann@example.com",
    emailVerified: true,
  });
});

test("plain OAuth2 (GitHub-like): a numeric id, no verification claim", () => {
  assert.deepEqual(identityFrom(undefined, { id: 42, login: "ann", email: "ann@example.com" }), {
    subject: "42",
    email: "ann@example.com",
    emailVerified: null,
  });
});

test("no subject, or a userinfo about someone else, is refused", () => {
  assert.throws(() => identityFrom(undefined, { email: "ann@example.com" }), /no user id/);
  assert.throws(() => identityFrom({ sub: "u1" }, { sub: "u2" }), /another user/);
});
