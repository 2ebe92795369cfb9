import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { send, sendJson } from "../support/http-client.ts";
import { makeTempDir } from "../support/temp-dir.ts";
import { loginToken, startWatchedMaster } from "../support/test-master.ts";

const PASSWORD = "a long enough password";

test("a fresh master prints a setup code on stdout, never in the log, and admin init takes it", async (t) => {
  const { master, banner, logs } = await startWatchedMaster(t);
  const code = /Setup code: ([0-9a-f]{32})\n/.exec(banner())?.[1];
  assert.ok(code, banner());
  assert.ok(banner().includes(`${master.url}/api/users/admin/init`), "the banner shows how to use it");
  const created = await sendJson(master.url, "/api/users/admin/init", "POST", {
    Username: "root",
    Password: PASSWORD,
    SetupCode: code,
  });
  assert.equal(created.status, 200);
  const jwt = await loginToken(master.url, "root", PASSWORD);
  await send(master.url, `/v1/user?token=${jwt}`);
  await sendJson(master.url, "/api/auth", "POST", { Username: "root", Password: `${PASSWORD}!` });
  assert.ok(logs().includes("/api/users/admin/init"), "requests were logged");
  for (const secret of [code, PASSWORD, jwt]) assert.ok(!logs().includes(secret), `a secret leaked into the log`);
});

test("BERTH_ADMIN_PASSWORD creates admin at the first start and prints no code", async (t) => {
  const dataDir = await makeTempDir(t);
  const first = await startWatchedMaster(t, { dataDir, adminPassword: PASSWORD });
  assert.match(first.banner(), /Admin user "admin" created with the password in BERTH_ADMIN_PASSWORD/);
  assert.doesNotMatch(first.banner(), /Setup code|a long enough/);
  assert.ok(await loginToken(first.master.url, "admin", PASSWORD));
  await first.master.close();
  const again = await startWatchedMaster(t, { dataDir, adminPassword: "a different password" });
  assert.equal(again.banner().split("\n").length, 2, "an existing admin is left alone and needs no banner");
  assert.ok(await loginToken(again.master.url, "admin", PASSWORD));
});

test("a too short BERTH_ADMIN_PASSWORD stops start-up with a ConfigError and releases the store", async (t) => {
  const dataDir = await makeTempDir(t);
  await assert.rejects(
    startWatchedMaster(t, { dataDir, adminPassword: "short" }),
    (error: unknown) =>
      error instanceof ConfigError && /BERTH_ADMIN_PASSWORD: password: must be at least 12/.test(error.message),
  );
  const retried = await startWatchedMaster(t, { dataDir, adminPassword: PASSWORD });
  assert.equal((await send(retried.master.url, "/readyz")).status, 200);
});

test("berth dev prints a ready login and bearer token, and keeps them out of the log", async (t) => {
  const { master, banner, logs } = await startWatchedMaster(t, { dev: true });
  const password = /Admin login: admin \/ (\S+) /.exec(banner())?.[1];
  const token = /Bearer token: (\S+)\n/.exec(banner())?.[1];
  assert.ok(password && token, banner());
  const me = await send(master.url, "/v1/user", { headers: { authorization: `Bearer ${token}` } });
  assert.equal((me.json() as { username: string }).username, "admin");
  assert.ok(await loginToken(master.url, "admin", password));
  for (const secret of [password, token]) assert.ok(!logs().includes(secret), "a secret leaked into the log");
});

test("berth dev with BERTH_ADMIN_PASSWORD uses it and does not echo it", async (t) => {
  const { master, banner } = await startWatchedMaster(t, { dev: true, adminPassword: PASSWORD });
  assert.match(banner(), /Admin login: admin \/ the password in BERTH_ADMIN_PASSWORD/);
  assert.ok(!banner().includes(PASSWORD));
  assert.ok(await loginToken(master.url, "admin", PASSWORD));
});

test("the JWT lifetime follows the jwtTtl setting", async (t) => {
  const { master } = await startWatchedMaster(t, { adminPassword: PASSWORD, jwtTtl: 90 });
  const jwt = await loginToken(master.url, "admin", PASSWORD);
  const claims = JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString());
  assert.equal(claims.exp - claims.iat, 90);
});
