import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers, userHeaders } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");
const GRID_KEYS = ["id", "name", "initial_size", "token", "stats", "trusted_subnets", "created_at", "updated_at"];
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type GridBody = Record<string, unknown> & { token?: string };

describe("native grids", () => {
  it("has a default grid after the first start, shaped as the spec shows a grid", async (t) => {
    const master = await startTestMaster(t);
    const listed = await send(master.url, "/v1/grids", { headers: master.auth });
    assert.equal(listed.status, 200);
    const { grids } = listed.json() as { grids: GridBody[] };
    assert.deepEqual(
      grids.map((grid) => grid.name),
      ["default"],
    );
    const response = await send(master.url, "/v1/grids/default", { headers: master.auth });
    assert.equal(response.status, 200);
    const grid = response.json() as GridBody;
    assert.deepEqual(Object.keys(grid), GRID_KEYS);
    assert.deepEqual(
      { ...grid, token: undefined, created_at: undefined, updated_at: undefined },
      {
        id: "default",
        name: "default",
        initial_size: 1,
        token: undefined,
        stats: { statsd: null },
        trusted_subnets: [],
        created_at: undefined,
        updated_at: undefined,
      },
    );
    assert.equal(Buffer.from(grid.token ?? "", "base64").length, 64);
    assert.match(String(grid.created_at), ISO_UTC);
  });

  it("creates a grid (201), then refuses the name again with a 422 field map", async (t) => {
    const master = await startTestMaster(t);
    const created = await sendJson(master.url, "/v1/grids", "POST", { name: "my-grid", initial_size: 3 }, master.auth);
    assert.equal(created.status, 201, created.text);
    const grid = created.json() as GridBody;
    assert.deepEqual(Object.keys(grid), GRID_KEYS);
    assert.equal(grid.initial_size, 3);
    assert.equal(grid.created_at, grid.updated_at);
    const again = await sendJson(master.url, "/v1/grids", "POST", { name: "my-grid" }, master.auth);
    nativeError(again, 422);
    assert.deepEqual(again.json(), { error: { name: "is already taken" } });
    const fetched = await send(master.url, "/v1/grids/my-grid", { headers: master.auth });
    assert.deepEqual(fetched.json(), grid);
  });

  it("answers bad input with a 4xx naming the field, and writes nothing", async (t) => {
    const master = await startTestMaster(t);
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "My-Grid" }, "name"],
      [{ name: "-grid" }, "name"],
      [{ name: "a".repeat(64) }, "name"],
      [{ name: "a/b" }, "name"],
      [{ name: 42 }, "name"],
      [{ name: "ok", initial_size: 0 }, "initial_size"],
      [{ name: "ok", initial_size: "3" }, "initial_size"],
      [{ name: "ok", trusted_subnets: ["10.0.0.0/33"] }, "trusted_subnets.0"],
      [[], "body"],
    ];
    for (const [body, field] of cases) {
      const response = await sendJson(master.url, "/v1/grids", "POST", body, master.auth);
      nativeError(response, 422);
      assert.ok(
        field in (response.json() as { error: Record<string, string> }).error,
        `${JSON.stringify(body)}: ${response.text}`,
      );
    }
    const malformed = await send(master.url, "/v1/grids", {
      method: "POST",
      headers: { "content-type": "application/json", ...master.auth },
      body: '{"name": ',
    });
    nativeError(malformed, 400);
    const { grids } = (await send(master.url, "/v1/grids", { headers: master.auth })).json() as { grids: GridBody[] };
    assert.deepEqual(
      grids.map((grid) => grid.name),
      ["default"],
    );
  });

  it("updates stats and trusted subnets, validating both; unknown grids are 404", async (t) => {
    const master = await startTestMaster(t);
    const changed = await sendJson(
      master.url,
      "/v1/grids/default",
      "PUT",
      { stats: { statsd: { server: "10.10.10.2", port: 8121 } }, trusted_subnets: ["10.240.0.0/16"] },
      master.auth,
    );
    assert.equal(changed.status, 200, changed.text);
    const grid = changed.json() as GridBody;
    assert.deepEqual(grid.stats, { statsd: { server: "10.10.10.2", port: "8121" } });
    assert.deepEqual(grid.trusted_subnets, ["10.240.0.0/16"]);
    assert.notEqual(grid.updated_at, grid.created_at);

    const bad = await sendJson(
      master.url,
      "/v1/grids/default",
      "PUT",
      { trusted_subnets: ["10.240.0.0/16", "not-a-subnet"], stats: { statsd: { server: "x", port: "http" } } },
      master.auth,
    );
    nativeError(bad, 422);
    assert.deepEqual(Object.keys((bad.json() as { error: object }).error).sort(), [
      "stats.statsd.port",
      "trusted_subnets.1",
    ]);
    const after = (await send(master.url, "/v1/grids/default", { headers: master.auth })).json() as GridBody;
    assert.deepEqual(after.trusted_subnets, ["10.240.0.0/16"]);

    const cleared = await sendJson(master.url, "/v1/grids/default", "PUT", { stats: { statsd: null } }, master.auth);
    assert.deepEqual((cleared.json() as GridBody).stats, { statsd: null });

    for (const [method, path] of [
      ["GET", "/v1/grids/nope"],
      ["PUT", "/v1/grids/nope"],
      ["DELETE", "/v1/grids/nope"],
      ["POST", "/v1/grids/nope/token"],
      ["GET", "/v1/grids/NOPE"],
    ] as const) {
      const response =
        method === "PUT"
          ? await sendJson(master.url, path, method, { trusted_subnets: [] }, master.auth)
          : await send(master.url, path, { method, headers: master.auth });
      nativeError(response, 404);
    }
  });

  it("applies the role rules to every grid route", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "matrix");
    const status = async (caller: keyof typeof callers, method: string, path: string, body?: unknown) =>
      (body === undefined
        ? await send(master.url, path, { method, headers: callers[caller] })
        : await sendJson(master.url, path, method, body, callers[caller])
      ).status;

    // Create: master_admin only.
    assert.equal(await status("gridAdmin", "POST", "/v1/grids", { name: "x" }), 403);
    assert.equal(await status("member", "POST", "/v1/grids", { name: "x" }), 403);
    assert.equal(await status("outsider", "POST", "/v1/grids", { name: "x" }), 403);
    assert.equal(await status("anonymous", "POST", "/v1/grids", { name: "x" }), 401);
    // Refused before the body is looked at.
    assert.equal(await status("member", "POST", "/v1/grids", { name: "Not Valid" }), 403);

    // List: each caller sees their grids.
    const names = async (caller: keyof typeof callers) => {
      const response = await send(master.url, "/v1/grids", { headers: callers[caller] });
      return ((response.json() as { grids: GridBody[] }).grids ?? []).map((grid) => grid.name);
    };
    assert.deepEqual(await names("admin"), ["default", "matrix"]);
    assert.deepEqual(await names("gridAdmin"), ["matrix"]);
    assert.deepEqual(await names("member"), ["matrix"]);
    assert.deepEqual(await names("outsider"), []);
    assert.equal(await status("anonymous", "GET", "/v1/grids"), 401);

    // Read: members; the token only for master_admin and grid_admin.
    const token = async (caller: keyof typeof callers) =>
      ((await send(master.url, "/v1/grids/matrix", { headers: callers[caller] })).json() as GridBody).token;
    assert.ok(await token("admin"));
    assert.equal(await token("gridAdmin"), await token("admin"));
    assert.equal(await token("member"), undefined);
    const memberList = await send(master.url, "/v1/grids", { headers: callers.member });
    assert.deepEqual(
      (memberList.json() as { grids: GridBody[] }).grids.map((grid) => [grid.name, "token" in grid]),
      [["matrix", false]],
    );
    assert.equal(await status("outsider", "GET", "/v1/grids/matrix"), 403);
    assert.equal(await status("outsider", "GET", "/v1/grids/nope"), 403);
    assert.equal(await status("anonymous", "GET", "/v1/grids/matrix"), 401);

    // Change: master_admin or grid_admin.
    const change = { trusted_subnets: ["10.0.0.0/8"] };
    assert.equal(await status("admin", "PUT", "/v1/grids/matrix", change), 200);
    assert.equal(await status("gridAdmin", "PUT", "/v1/grids/matrix", change), 200);
    assert.equal(await status("member", "PUT", "/v1/grids/matrix", change), 403);
    assert.equal(await status("outsider", "PUT", "/v1/grids/matrix", change), 403);
    assert.equal(await status("anonymous", "PUT", "/v1/grids/matrix", change), 401);
    assert.equal(await status("member", "POST", "/v1/grids/matrix/token"), 403);
    assert.equal(await status("gridAdmin", "POST", "/v1/grids/matrix/token"), 200);

    // Remove: master_admin only.
    for (const caller of ["gridAdmin", "member", "outsider"] as const) {
      assert.equal(await status(caller, "DELETE", "/v1/grids/matrix"), 403);
    }
    assert.equal(await status("anonymous", "DELETE", "/v1/grids/matrix"), 401);
    assert.equal(await status("admin", "DELETE", "/v1/grids/matrix"), 200);
    assert.deepEqual(await names("member"), []);
  });

  it("rotates the join token", async (t) => {
    const master = await startTestMaster(t);
    const before = (await send(master.url, "/v1/grids/default", { headers: master.auth })).json() as GridBody;
    const rotated = await send(master.url, "/v1/grids/default/token", { method: "POST", headers: master.auth });
    assert.equal(rotated.status, 200);
    const after = rotated.json() as GridBody;
    assert.notEqual(after.token, before.token);
    assert.equal(Buffer.from(after.token ?? "", "base64").length, 64);
  });

  it("removes a grid with its secrets, registries and memberships; a new grid of that name starts empty", async (t) => {
    const master = await startTestMaster(t);
    await sendJson(master.url, "/v1/grids", "POST", { name: "doomed" }, master.auth);
    const member = await userHeaders(master, "member", { doomed: "member" });
    await sendJson(master.url, "/v1/grids/doomed/secrets", "POST", { name: "A", value: "1" }, master.auth);
    const registry = { url: "https://quay.io/", username: "u", password: "p" };
    await sendJson(master.url, "/v1/grids/doomed/external_registries", "POST", registry, master.auth);
    const removed = await send(master.url, "/v1/grids/doomed", { method: "DELETE", headers: master.auth });
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.json(), {});
    nativeError(await send(master.url, "/v1/grids/doomed", { headers: master.auth }), 404);

    await sendJson(master.url, "/v1/grids", "POST", { name: "doomed" }, master.auth);
    nativeError(await send(master.url, "/v1/grids/doomed", { headers: member }), 403);
    const secrets = await send(master.url, "/v1/grids/doomed/secrets", { headers: master.auth });
    assert.deepEqual(secrets.json(), { secrets: [] });
    const registries = await send(master.url, "/v1/grids/doomed/external_registries", { headers: master.auth });
    assert.deepEqual(registries.json(), { external_registries: [] });
  });

  it("keeps a removed default grid removed across restarts", async (t) => {
    const dataDir = await makeTempDir(t);
    const first = await startTestMaster(t, dataDir);
    await send(first.url, "/v1/grids/default", { method: "DELETE", headers: first.auth });
    await first.close();
    const second = await startTestMaster(t, dataDir);
    assert.deepEqual((await send(second.url, "/v1/grids", { headers: second.auth })).json(), { grids: [] });
  });
});
