import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { assertNotAtRest } from "../../support/plaintext-scan.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");
const REGISTRY = {
  url: "https://registry.domain.com/",
  username: "a_bot",
  email: "a_bot@domain.com",
  password: "xyz123",
};

describe("native external registries", () => {
  it("adds a registry shaped as the spec shows, lists it without the password, deletes it by host", async (t) => {
    const master = await startTestMaster(t);
    const created = await sendJson(master.url, "/v1/grids/default/external_registries", "POST", REGISTRY, master.auth);
    assert.equal(created.status, 201, created.text);
    const registry = created.json() as Record<string, unknown>;
    assert.deepEqual(
      { ...registry, created_at: undefined, updated_at: undefined },
      {
        id: "default/registry.domain.com",
        name: "registry.domain.com",
        url: "https://registry.domain.com/",
        username: "a_bot",
        email: "a_bot@domain.com",
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const listed = await send(master.url, "/v1/grids/default/external_registries", { headers: master.auth });
    assert.deepEqual(listed.json(), { external_registries: [registry] });
    assert.ok(!listed.text.includes("xyz123"));

    const local = { ...REGISTRY, url: "http://localhost:5000" };
    const withPort = await sendJson(master.url, "/v1/grids/default/external_registries", "POST", local, master.auth);
    assert.equal((withPort.json() as { id: string }).id, "default/localhost:5000");
    const removed = await send(master.url, "/v1/external_registries/default/localhost:5000", {
      method: "DELETE",
      headers: master.auth,
    });
    assert.equal(removed.status, 200, removed.text);
    const path = "/v1/external_registries/default/registry.domain.com";
    assert.equal((await send(master.url, path, { method: "DELETE", headers: master.auth })).status, 200);
    nativeError(await send(master.url, path, { method: "DELETE", headers: master.auth }), 404);
    assert.deepEqual(
      (await send(master.url, "/v1/grids/default/external_registries", { headers: master.auth })).json(),
      {
        external_registries: [],
      },
    );
  });

  it("answers bad input and a second registry for a host with a 422 field map; unknown grids are 404", async (t) => {
    const master = await startTestMaster(t);
    const post = (body: unknown, grid = "default") =>
      sendJson(master.url, `/v1/grids/${grid}/external_registries`, "POST", body, master.auth);
    assert.equal((await post(REGISTRY)).status, 201);
    const again = await post({ ...REGISTRY, url: "https://registry.domain.com:443/other" });
    assert.match(nativeError(again, 422), /"url"/);
    for (const [body, field] of [
      [{ ...REGISTRY, url: "registry.domain.com" }, "url"],
      [{ ...REGISTRY, url: "ftp://registry.domain.com/" }, "url"],
      [{ ...REGISTRY, url: "https://me:pw@quay.io/" }, "url"],
      [{ ...REGISTRY, url: "https://quay.io/", username: "" }, "username"],
      [{ ...REGISTRY, url: "https://quay.io/", email: "nope" }, "email"],
      [{ ...REGISTRY, url: "https://quay.io/", password: undefined }, "password"],
      ["text", "body"],
    ] as const) {
      const response = await post(body);
      nativeError(response, 422);
      assert.ok(field in (response.json() as { error: object }).error, response.text);
    }
    nativeError(await post(REGISTRY, "nope"), 404);
    nativeError(await send(master.url, "/v1/grids/nope/external_registries", { headers: master.auth }), 404);
    nativeError(
      await send(master.url, "/v1/external_registries/nope/quay.io", { method: "DELETE", headers: master.auth }),
      404,
    );
  });

  it("is open to the grid's members and closed to everyone else", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "matrix");
    for (const caller of ["admin", "gridAdmin", "member"] as const) {
      const headers = callers[caller];
      const created = await sendJson(master.url, "/v1/grids/matrix/external_registries", "POST", REGISTRY, headers);
      assert.equal(created.status, 201, created.text);
      assert.equal((await send(master.url, "/v1/grids/matrix/external_registries", { headers })).status, 200);
      const path = "/v1/external_registries/matrix/registry.domain.com";
      assert.equal((await send(master.url, path, { method: "DELETE", headers })).status, 200);
    }
    await sendJson(master.url, "/v1/grids/matrix/external_registries", "POST", REGISTRY, master.auth);
    for (const [caller, status] of [
      ["outsider", 403],
      ["anonymous", 401],
    ] as const) {
      const headers = callers[caller];
      nativeError(await send(master.url, "/v1/grids/matrix/external_registries", { headers }), status);
      nativeError(
        await sendJson(master.url, "/v1/grids/matrix/external_registries", "POST", REGISTRY, headers),
        status,
      );
      nativeError(
        await send(master.url, "/v1/external_registries/matrix/registry.domain.com", { method: "DELETE", headers }),
        status,
      );
    }
  });

  it("never keeps a registry password in clear on disk", async (t) => {
    const dataDir = await makeTempDir(t);
    const master = await startTestMaster(t, dataDir);
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const control = `user-${randomBytes(6).toString("hex")}`;
    const body = { url: "https://quay.io/", username: control, password };
    assert.equal(
      (await sendJson(master.url, "/v1/grids/default/external_registries", "POST", body, master.auth)).status,
      201,
    );
    await assertNotAtRest(dataDir, [password], control);
    await master.close();
    await assertNotAtRest(dataDir, [password], control);
  });
});
