import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { CoreServices } from "../../../src/core/core-services.ts";
import { installConsulAclHook } from "../../../src/faces/consul/consul-acl-hook.ts";
import { renderConsulError } from "../../../src/faces/consul/consul-error-renderer.ts";
import { requireAcl } from "../../../src/faces/consul/require-acl.ts";
import type { Face } from "../../../src/http/face.ts";
import { aclOf } from "../../../src/http/request-principal.ts";
import { send } from "../../support/http-client.ts";
import { startTestHost } from "../../support/test-host.ts";

/** A face with the Consul ACL hook and routes guarded the way the Consul routes guard theirs. */
function aclProbeFace(core: CoreServices): Face {
  return {
    name: "acl-probe",
    mounts: ["/acl-probe"],
    renderError: renderConsulError,
    register(app) {
      installConsulAclHook(app, core.acl);
      app.get<{ Params: { "*": string } }>("/acl-probe/key/*", async (request) => {
        requireAcl(request, (acl) => acl.keyRead(request.params["*"]));
        return "read";
      });
      app.put<{ Params: { "*": string } }>("/acl-probe/key/*", async (request) => {
        requireAcl(request, (acl) => acl.keyWrite(request.params["*"]));
        return "written";
      });
      app.put<{ Params: { name: string } }>("/acl-probe/event/:name", async (request) => {
        requireAcl(request, (acl) => acl.eventWrite(request.params.name));
        return "fired";
      });
      app.get("/acl-probe/whoami", async (request) => ({
        management: aclOf(request).management,
        user: request.principal?.user.username ?? null,
      }));
      app.get("/acl-probe/public", { config: { public: true } }, async (request) => ({
        management: aclOf(request).management,
      }));
    },
  };
}

async function start(t: TestContext) {
  const host = await startTestHost(t, (core) => [aclProbeFace(core)]);
  const token = async (rules: string, type: "client" | "management" = "client") =>
    host.core.aclTokens.set({ type, rules });
  return { ...host, token };
}

describe("Consul ACL hook", () => {
  it("denies with 403 Permission denied, as plain text, what the token's rules do not allow", async (t) => {
    const { url, token } = await start(t);
    const id = await token(
      'key "foo/" { policy = "write" }\nkey "foo/private/" { policy = "deny" }\nkey "" { policy = "read" }\nevent "deploy" { policy = "write" }',
    );
    const headers = { "x-consul-token": id };
    const cases: [string, string, number][] = [
      ["GET", "/acl-probe/key/foo/bar", 200],
      ["PUT", "/acl-probe/key/foo/bar", 200],
      ["GET", "/acl-probe/key/elsewhere", 200],
      ["PUT", "/acl-probe/key/elsewhere", 403],
      ["GET", "/acl-probe/key/foo/private/x", 403],
      ["PUT", "/acl-probe/key/foo/private/x", 403],
      ["PUT", "/acl-probe/event/deploy", 200],
      ["PUT", "/acl-probe/event/restart", 403],
    ];
    for (const [method, path, status] of cases) {
      const response = await send(url, path, { method, headers });
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      if (status === 403) {
        assert.equal(response.text, "Permission denied");
        assert.match(response.contentType, /^text\/plain/);
      }
    }
  });

  it("applies the anonymous token to tokenless requests, under default deny", async (t) => {
    const { url, core } = await start(t);
    assert.equal((await send(url, "/acl-probe/key/pub/x")).status, 403);
    await core.aclTokens.set({ id: "anonymous", rules: 'key "pub/" { policy = "read" }' });
    assert.equal((await send(url, "/acl-probe/key/pub/x")).status, 200);
    assert.equal((await send(url, "/acl-probe/key/pub/x", { method: "PUT" })).status, 403);
    assert.equal((await send(url, "/acl-probe/key/other")).status, 403);
  });

  it("sets the Berth user of a bearer token as the principal", async (t) => {
    const { url, core, token } = await start(t);
    const { user } = await core.users.create({
      username: "ops",
      password: "ops-password-123",
      roles: ["master_admin"],
    });
    const jwt = await core.jwt.issue(user);
    const response = await send(url, "/acl-probe/whoami", { headers: { authorization: `Bearer ${jwt}` } });
    assert.deepEqual(response.json(), { management: true, user: "ops" });
    const management = await send(url, "/acl-probe/whoami", {
      headers: { "x-consul-token": await token("", "management") },
    });
    assert.deepEqual(management.json(), { management: true, user: null });
  });

  it("serves an unknown token as anonymous on public routes and refuses it elsewhere", async (t) => {
    const { url } = await start(t);
    const headers = { "x-consul-token": "made-up" };
    const open = await send(url, "/acl-probe/public", { headers });
    assert.deepEqual([open.status, open.json()], [200, { management: false }]);
    const guarded = await send(url, "/acl-probe/key/x", { headers });
    assert.deepEqual([guarded.status, guarded.text], [403, "ACL not found"]);
  });
});
