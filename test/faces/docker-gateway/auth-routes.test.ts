import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { startTestMaster, startWatchedMaster, TEST_ADMIN_PASSWORD } from "../../support/test-master.ts";

const gatewayError = errorShapeOf("docker-gateway");
const PASSWORD = "a long enough password";

/** A master with no admin yet, and the setup code from its banner. */
async function startFreshMaster(t: TestContext) {
  const { master, banner } = await startWatchedMaster(t);
  const code = /Setup code: (\S+)/.exec(banner())?.[1];
  assert.ok(code, banner());
  return { url: master.url, code };
}

test("admin init takes the setup code (header or body), answers Portainer's user, then 409", async (t) => {
  const { url, code } = await startFreshMaster(t);
  const withoutCode = await sendJson(url, "/api/users/admin/init", "POST", { Username: "root", Password: PASSWORD });
  assert.match(gatewayError(withoutCode, 401), /setup code .*printed on its standard output/);
  const wrongCode = await sendJson(
    url,
    "/api/users/admin/init",
    "POST",
    { Username: "root", Password: PASSWORD },
    {
      "x-berth-setup-code": "0".repeat(32),
    },
  );
  assert.match(gatewayError(wrongCode, 403), /wrong setup code/);

  const created = await sendJson(
    url,
    "/api/users/admin/init",
    "POST",
    { Username: "root", Password: PASSWORD },
    {
      "x-berth-setup-code": code,
    },
  );
  assert.equal(created.status, 200, created.text);
  const user = created.json() as { Id: string; Username: string; Role: number };
  assert.deepEqual(user, { Id: user.Id, Username: "root", Role: 1 });

  const again = await sendJson(url, "/api/users/admin/init", "POST", {
    Username: "other",
    Password: PASSWORD,
    SetupCode: code,
  });
  assert.match(gatewayError(again, 409), /already exists/);
});

test("the setup code works in the body too", async (t) => {
  const { url, code } = await startFreshMaster(t);
  const created = await sendJson(url, "/api/users/admin/init", "POST", {
    Username: "root",
    Password: PASSWORD,
    SetupCode: code,
  });
  assert.equal(created.status, 200, created.text);
});

test("a bad admin init payload is a 400 naming the field, and creates nothing", async (t) => {
  const { url, code } = await startFreshMaster(t);
  const headers = { "x-berth-setup-code": code };
  const cases: [unknown, RegExp][] = [
    [{ Username: "", Password: PASSWORD }, /Username: must not be empty/],
    [{ Username: "   ", Password: PASSWORD }, /Username: must not be empty/],
    [{ Username: "has space", Password: PASSWORD }, /Username: may hold only/],
    [{ Username: "root", Password: "short" }, /Password: must be at least 12 characters/],
    [{ Username: "root" }, /Password/],
    [{ Username: 7, Password: PASSWORD }, /Username: must be a string/],
    [[1, 2], /body/],
    ["text", /body/],
  ];
  for (const [body, message] of cases) {
    const response = await sendJson(url, "/api/users/admin/init", "POST", body, headers);
    const text = gatewayError(response, 400);
    assert.match(text, /^Invalid request payload/, JSON.stringify(body));
    assert.match(text, message, JSON.stringify(body));
  }
  const malformed = await send(url, "/api/users/admin/init", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: '{"Username": ',
  });
  gatewayError(malformed, 400);
  const created = await sendJson(
    url,
    "/api/users/admin/init",
    "POST",
    { Username: "root", Password: PASSWORD },
    headers,
  );
  assert.equal(created.status, 200, "nothing was created by the bad attempts");
});

test("POST /api/auth answers an 8-hour JWT that works as a bearer token", async (t) => {
  const master = await startTestMaster(t);
  const response = await sendJson(master.url, "/api/auth", "POST", {
    Username: "admin",
    Password: TEST_ADMIN_PASSWORD,
  });
  assert.equal(response.status, 200, response.text);
  const { jwt } = response.json() as { jwt: string };
  assert.deepEqual(Object.keys(response.json() as object), ["jwt"]);
  const claims = JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString());
  assert.equal(claims.username, "admin");
  assert.equal(claims.role, 1);
  assert.equal(claims.exp - claims.iat, 8 * 3600, "Portainer's 8 hours");
  const me = await send(master.url, "/v1/user", { headers: { authorization: `Bearer ${jwt}` } });
  assert.equal((me.json() as { username: string }).username, "admin");
});

test("wrong credentials are Portainer's 422 Invalid credentials; a bad payload is a 400", async (t) => {
  const master = await startTestMaster(t);
  await sendJson(master.url, "/v1/users", "POST", { username: "invited" }, master.auth);
  for (const [Username, Password] of [
    ["admin", "wrong password"],
    ["nobody", TEST_ADMIN_PASSWORD],
    ["invited", ""],
    ["bad name!", TEST_ADMIN_PASSWORD],
  ]) {
    const response = await sendJson(master.url, "/api/auth", "POST", { Username, Password });
    if (Password === "") assert.match(gatewayError(response, 400), /Invalid request payload: Password/);
    else assert.equal(gatewayError(response, 422), "Invalid credentials", `${Username}`);
  }
  assert.match(gatewayError(await sendJson(master.url, "/api/auth", "POST", {}), 400), /Username/);
});

test("repeated wrong passwords lock the login with a 429 and Retry-After, even for the right password", async (t) => {
  const master = await startTestMaster(t);
  const attempt = (Password: string) => sendJson(master.url, "/api/auth", "POST", { Username: "admin", Password });
  let locked = await attempt("wrong password");
  for (let i = 0; i < 20 && locked.status === 422; i++) locked = await attempt("wrong password");
  assert.match(gatewayError(locked, 429), /too many failed attempts/);
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  gatewayError(await attempt(TEST_ADMIN_PASSWORD), 429);
});
