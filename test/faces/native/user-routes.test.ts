import assert from "node:assert/strict";
import { test } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { loginToken, startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");
const PASSWORD = "a long enough password";

interface UserJson {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  readonly roles: { name: string; description: string }[];
  readonly invite_pending: boolean;
  readonly invite_code?: string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test("GET /v1/user is the caller, in Kontena's shape", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/v1/user", { headers: master.auth });
  assert.equal(response.status, 200);
  const user = response.json() as UserJson & Record<string, unknown>;
  assert.equal(user.username, "admin");
  assert.equal(user.name, "admin");
  assert.deepEqual(
    user.roles.map((role) => role.name),
    ["master_admin"],
  );
  assert.equal(typeof user.roles[0]?.description, "string");
  assert.ok(!JSON.stringify(user).includes("hash"), "no hashes leave the master");
});

test("a master_admin creates users with a password, lists them, grants and revokes master_admin", async (t) => {
  const master = await startTestMaster(t);
  const created = await sendJson(
    master.url,
    "/v1/users",
    "POST",
    { username: "ops", email: "ops@example.test", password: PASSWORD },
    master.auth,
  );
  assert.equal(created.status, 201, created.text);
  const ops = created.json() as UserJson;
  assert.equal(ops.email, "ops@example.test");
  assert.equal(ops.invite_code, undefined, "a user with a password needs no invite");
  const listed = (await send(master.url, "/v1/users", { headers: master.auth })).json() as { users: UserJson[] };
  assert.deepEqual(listed.users.map((user) => user.username).sort(), ["admin", "ops"]);

  const opsAuth = bearer(await loginToken(master.url, "ops", PASSWORD));
  assert.match(nativeError(await send(master.url, "/v1/users", { headers: opsAuth }), 403), /master_admin/);

  const granted = await sendJson(master.url, "/v1/users/ops/roles", "POST", { role: "master_admin" }, master.auth);
  assert.deepEqual(
    (granted.json() as UserJson).roles.map((role) => role.name),
    ["master_admin"],
  );
  assert.equal((await send(master.url, "/v1/users", { headers: opsAuth })).status, 200, "the same token now may");

  const revoked = await send(master.url, "/v1/users/ops/roles/master_admin", { method: "DELETE", headers: opsAuth });
  assert.deepEqual((revoked.json() as UserJson).roles, []);
  nativeError(await send(master.url, "/v1/users", { headers: opsAuth }), 403);
});

test("without a password, POST /v1/users is an invite; the code sets a password once", async (t) => {
  const master = await startTestMaster(t);
  const invited = await sendJson(master.url, "/v1/users", "POST", { email: "guest@example.test" }, master.auth);
  assert.equal(invited.status, 201, invited.text);
  const guest = invited.json() as UserJson;
  assert.equal(guest.username, "guest@example.test", "the email is the username when none is given");
  assert.equal(guest.invite_pending, true);
  assert.ok(guest.invite_code && guest.invite_code.length >= 20);

  const short = await sendJson(master.url, "/v1/user/invite", "POST", {
    invite_code: guest.invite_code,
    password: "x",
  });
  assert.match(nativeError(short, 422), /password/);
  const accepted = await sendJson(master.url, "/v1/user/invite", "POST", {
    invite_code: guest.invite_code,
    password: PASSWORD,
  });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal((accepted.json() as UserJson).invite_pending, false);
  const token = await loginToken(master.url, "guest@example.test", PASSWORD);
  assert.equal((await send(master.url, "/v1/user", { headers: bearer(token) })).status, 200);

  const reused = await sendJson(master.url, "/v1/user/invite", "POST", {
    invite_code: guest.invite_code,
    password: PASSWORD,
  });
  assert.match(nativeError(reused, 404), /unknown or already used/);
});

test("guessing invite codes is throttled", async (t) => {
  const master = await startTestMaster(t);
  const guess = () => sendJson(master.url, "/v1/user/invite", "POST", { invite_code: "guess", password: PASSWORD });
  let response = await guess();
  for (let i = 0; i < 20 && response.status === 404; i++) response = await guess();
  nativeError(response, 429);
  assert.ok(Number(response.headers.get("retry-after")) > 0);
});

test("bad input: unknown role and bad fields are 422 field maps, unknown users 404, nothing written", async (t) => {
  const master = await startTestMaster(t);
  await sendJson(master.url, "/v1/users", "POST", { username: "ops", password: PASSWORD }, master.auth);
  const cases: [string, string, unknown, number, string][] = [
    ["POST", "/v1/users/ops/roles", { role: "root" }, 422, "role"],
    ["POST", "/v1/users/ops/roles", {}, 422, "role"],
    ["POST", "/v1/users", {}, 422, "username"],
    ["POST", "/v1/users", { username: "has space", password: PASSWORD }, 422, "username"],
    ["POST", "/v1/users", { username: "x", password: "short" }, 422, "password"],
    ["POST", "/v1/users", { username: "x", email: "not-an-email" }, 422, "email"],
    ["POST", "/v1/users", { username: "ops", password: PASSWORD }, 422, "username"],
    ["POST", "/v1/users", { username: 5 }, 422, "username"],
    ["POST", "/v1/users/nobody/roles", { role: "master_admin" }, 404, ""],
    ["DELETE", "/v1/users/ops/roles/root", undefined, 422, "role"],
    ["DELETE", "/v1/users/nobody", undefined, 404, ""],
    ["DELETE", "/v1/users/bad%20name", undefined, 422, "username"],
    ["POST", "/v1/user/invite", { password: PASSWORD }, 422, "invite_code"],
  ];
  for (const [method, path, body, status, field] of cases) {
    const response =
      body === undefined
        ? await send(master.url, path, { method, headers: master.auth })
        : await sendJson(master.url, path, method, body, master.auth);
    const message = nativeError(response, status);
    if (field) assert.ok(field in (JSON.parse(message) as object), `${method} ${path}: ${message}`);
  }
  const users = (await send(master.url, "/v1/users", { headers: master.auth })).json() as { users: UserJson[] };
  assert.deepEqual(users.users.map((user) => user.username).sort(), ["admin", "ops"]);
  assert.deepEqual((await send(master.url, "/v1/users/ops/roles/root", { method: "DELETE" })).status, 401);
});

test("the last master_admin can neither be deleted nor demoted", async (t) => {
  const master = await startTestMaster(t);
  const demote = await send(master.url, "/v1/users/admin/roles/master_admin", {
    method: "DELETE",
    headers: master.auth,
  });
  assert.match(nativeError(demote, 409), /last master_admin/);
  nativeError(await send(master.url, "/v1/users/admin", { method: "DELETE", headers: master.auth }), 409);
  assert.equal((await send(master.url, "/v1/user", { headers: master.auth })).status, 200);
});
