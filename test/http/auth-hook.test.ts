import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { SignJWT } from "jose";
import { JwtIssuer } from "../../src/core/auth/jwt-issuer.ts";
import { UserService } from "../../src/core/users/user-service.ts";
import { errorShapeOf } from "../support/face-error-shapes.ts";
import { send, sendJson } from "../support/http-client.ts";
import { loginToken, startTestMaster } from "../support/test-master.ts";
import { openTestStore } from "../support/test-store.ts";

const nativeError = errorShapeOf("native");

test("one bearer scheme: any case, a bare token, or ?token=", async (t) => {
  const master = await startTestMaster(t);
  const jwt = await loginToken(master.url);
  for (const authorization of [`Bearer ${jwt}`, `bearer ${jwt}`, `BEARER ${jwt}`, jwt]) {
    const response = await send(master.url, "/v1/user", { headers: { authorization } });
    assert.equal(response.status, 200, `${authorization.slice(0, 10)}: ${response.text}`);
    assert.equal((response.json() as { username: string }).username, "admin");
  }
  const viaQuery = await send(master.url, `/v1/user?token=${encodeURIComponent(jwt)}`);
  assert.equal(viaQuery.status, 200, viaQuery.text);
  // The header wins over the query: a browser's stale ?token= cannot override what a client sends.
  nativeError(await send(master.url, `/v1/user?token=${jwt}`, { headers: { authorization: "Bearer nope" } }), 401);
});

test("missing, malformed, forged and wrong-scheme credentials are a 401 with a challenge", async (t) => {
  const master = await startTestMaster(t);
  const forged = await new SignJWT({ username: "admin", role: 1 })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("whoever")
    .setIssuer("berth")
    .setExpirationTime("1h")
    .sign(randomBytes(32));
  const jwt = await loginToken(master.url);
  const [header, payload, signature] = jwt.split(".");
  const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: "x", iss: "berth" })).toString("base64url")}.${signature}`;
  const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
  const cases: [string, Record<string, string>][] = [
    ["no credentials", {}],
    ["empty header", { authorization: "" }],
    ["garbage", { authorization: "Bearer not-a-token" }],
    ["forged", { authorization: `Bearer ${forged}` }],
    ["tampered", { authorization: `Bearer ${tampered}` }],
    ["alg none", { authorization: `Bearer ${unsigned}` }],
    ["basic on a bearer face", { authorization: `Basic ${Buffer.from("admin:x").toString("base64")}` }],
    ["unknown scheme", { authorization: "Digest username=admin" }],
  ];
  for (const [label, headers] of cases) {
    const native = await send(master.url, "/v1/user", { headers });
    assert.ok(nativeError(native, 401), label);
    assert.equal(native.headers.get("www-authenticate"), 'Bearer realm="Berth"', label);
  }
  assert.match(nativeError(await send(master.url, "/v1/user"), 401), /Authorization: Bearer/);
});

test("an expired JWT and a deleted user's JWT stop working", async (t) => {
  const key = randomBytes(32);
  const master = await startTestMaster(t, undefined, { masterKey: key.toString("base64") });
  const users = new UserService(await openTestStore(t));
  const admin = (await send(master.url, "/v1/user", { headers: master.auth })).json() as { id: string };
  // Signed with the master's own key, but already past its expiry.
  const expired = await new JwtIssuer(key, users, -60).issue({ id: admin.id, username: "admin", roles: [] } as never);
  assert.match(
    nativeError(await send(master.url, "/v1/user", { headers: { authorization: `Bearer ${expired}` } }), 401),
    /expired/,
  );

  const created = await sendJson(
    master.url,
    "/v1/users",
    "POST",
    { username: "leaver", password: "leaver password" },
    master.auth,
  );
  assert.equal(created.status, 201, created.text);
  const token = await loginToken(master.url, "leaver", "leaver password");
  assert.equal((await send(master.url, "/v1/user", { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await send(master.url, "/v1/users/leaver", { method: "DELETE", headers: master.auth })).status, 200);
  const after = await send(master.url, "/v1/user", { headers: { authorization: `Bearer ${token}` } });
  assert.match(nativeError(after, 401), /no longer exists/);
});

test("authentication happens before the body is read: an anonymous bad body is a 401, not a 400", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/v1/config", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  nativeError(response, 401);
});
