import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreServices } from "../../../src/core/core-services.ts";
import { renderDirectorError } from "../../../src/faces/director/director-error-renderer.ts";
import { installAuthHook } from "../../../src/http/auth-hook.ts";
import type { Face } from "../../../src/http/face.ts";
import { principalOf } from "../../../src/http/request-principal.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send } from "../../support/http-client.ts";
import { startTestHost } from "../../support/test-host.ts";
import { loginToken, startTestMaster, TEST_ADMIN_PASSWORD } from "../../support/test-master.ts";

const directorError = errorShapeOf("director");
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const PASSWORD = "a long enough password";

/** An authenticated route behind the Director's own auth settings, until the Director has routes of its own (/tasks). */
function directorProbe(core: CoreServices): Face {
  return {
    name: "director-probe",
    mounts: ["/director-probe"],
    renderError: renderDirectorError,
    register(app) {
      installAuthHook(app, core.authenticator, { basicRealm: "Berth Director" });
      app.get("/director-probe/whoami", async (request) => ({ user: principalOf(request).user.username }));
    },
  };
}

test("GET /info names the caller when valid basic or bearer credentials come along, else null", async (t) => {
  const master = await startTestMaster(t);
  const info = async (headers: Record<string, string>) => {
    const response = await send(master.url, "/info", { headers });
    assert.equal(response.status, 200, response.text);
    return (response.json() as { user: string | null; user_authentication: unknown }).user;
  };
  assert.equal(await info({}), null);
  assert.equal(await info(basic("admin", TEST_ADMIN_PASSWORD)), "admin");
  assert.equal(await info({ authorization: `Bearer ${await loginToken(master.url)}` }), "admin");
  assert.equal(await info(basic("admin", "wrong password")), null);
  assert.equal(await info({ authorization: "Bearer forged" }), null);
  assert.equal(await info({ authorization: "Basic %%%" }), null);
});

test("Director routes take basic auth or a bearer token; failures are 401 with a Basic challenge", async (t) => {
  const server = await startTestHost(t, (core) => [directorProbe(core)]);
  await server.core.users.create({ username: "bosh", password: PASSWORD });
  const token = await server.core.jwt.issue(await server.core.users.get("bosh"));
  for (const headers of [basic("bosh", PASSWORD), { authorization: `bearer ${token}` }]) {
    const response = await send(server.url, "/director-probe/whoami", { headers });
    assert.deepEqual(response.json(), { user: "bosh" });
  }
  for (const headers of [
    {},
    basic("bosh", "wrong password"),
    basic("nobody", PASSWORD),
    { authorization: "Bearer x" },
  ]) {
    const response = await send(server.url, "/director-probe/whoami", { headers });
    directorError(response, 401);
    assert.equal(response.headers.get("www-authenticate"), 'Basic realm="Berth Director"');
  }
});

test("basic auth is throttled per user: a locked login is a 429 with Retry-After in the Director's shape", async (t) => {
  const server = await startTestHost(t, (core) => [directorProbe(core)]);
  await server.core.users.create({ username: "bosh", password: PASSWORD });
  let response = await send(server.url, "/director-probe/whoami", { headers: basic("bosh", "wrong password") });
  for (let i = 0; i < 20 && response.status === 401; i++) {
    response = await send(server.url, "/director-probe/whoami", { headers: basic("bosh", "wrong password") });
  }
  directorError(response, 429);
  assert.ok(Number(response.headers.get("retry-after")) > 0);
  directorError(await send(server.url, "/director-probe/whoami", { headers: basic("bosh", PASSWORD) }), 429);
});
