import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { DestinationStream } from "pino";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { assertNotAtRest } from "../../support/plaintext-scan.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

interface SecretBody {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly value?: string;
}

describe("native secrets", () => {
  it("creates, lists without values, reads, updates, upserts and deletes", async (t) => {
    const master = await startTestMaster(t);
    const created = await sendJson(
      master.url,
      "/v1/grids/default/secrets",
      "POST",
      { name: "SECRET_PWD", value: "T0Ps3crT" },
      master.auth,
    );
    assert.equal(created.status, 201, created.text);
    const summary = created.json() as SecretBody;
    assert.deepEqual(Object.keys(summary), ["id", "name", "created_at", "updated_at"]);
    assert.equal(summary.id, "default/SECRET_PWD");

    const listed = await send(master.url, "/v1/grids/default/secrets", { headers: master.auth });
    assert.deepEqual(listed.json(), { secrets: [summary] });
    assert.ok(!listed.text.includes("T0Ps3crT"));

    const read = await send(master.url, "/v1/secrets/default/SECRET_PWD", { headers: master.auth });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json(), { ...summary, value: "T0Ps3crT" });

    const updated = await sendJson(master.url, "/v1/secrets/default/SECRET_PWD", "PUT", { value: "n3w" }, master.auth);
    assert.equal(updated.status, 200, updated.text);
    assert.equal((updated.json() as SecretBody).value, undefined);
    const reread = await send(master.url, "/v1/secrets/default/SECRET_PWD", { headers: master.auth });
    assert.equal((reread.json() as SecretBody).value, "n3w");

    nativeError(await sendJson(master.url, "/v1/secrets/default/OTHER", "PUT", { value: "v" }, master.auth), 404);
    const upserted = await sendJson(
      master.url,
      "/v1/secrets/default/OTHER",
      "PUT",
      { value: "v", upsert: true },
      master.auth,
    );
    assert.equal(upserted.status, 200, upserted.text);
    assert.equal((upserted.json() as SecretBody).id, "default/OTHER");

    const removed = await send(master.url, "/v1/secrets/default/SECRET_PWD", {
      method: "DELETE",
      headers: master.auth,
    });
    assert.equal(removed.status, 200);
    nativeError(await send(master.url, "/v1/secrets/default/SECRET_PWD", { headers: master.auth }), 404);
    nativeError(
      await send(master.url, "/v1/secrets/default/SECRET_PWD", { method: "DELETE", headers: master.auth }),
      404,
    );
    const names = (await send(master.url, "/v1/grids/default/secrets", { headers: master.auth })).json() as {
      secrets: SecretBody[];
    };
    assert.deepEqual(
      names.secrets.map((secret) => secret.name),
      ["OTHER"],
    );
  });

  it("refuses a taken name, bad names and values with a 422 field map; unknown grids are 404", async (t) => {
    const master = await startTestMaster(t);
    const post = (body: unknown, grid = "default") =>
      sendJson(master.url, `/v1/grids/${grid}/secrets`, "POST", body, master.auth);
    assert.equal((await post({ name: "A", value: "1" })).status, 201);
    const taken = await post({ name: "A", value: "2" });
    nativeError(taken, 422);
    assert.deepEqual(taken.json(), { error: { name: "is already taken" } });
    for (const [body, field] of [
      [{ name: "-A", value: "1" }, "name"],
      [{ name: "A B", value: "1" }, "name"],
      [{ name: "", value: "1" }, "name"],
      [{ value: "1" }, "name"],
      [{ name: "B" }, "value"],
      [{ name: "B", value: 7 }, "value"],
      [{ name: "B", value: "x".repeat(64 * 1024 + 1) }, "value"],
    ] as const) {
      const response = await post(body);
      nativeError(response, 422);
      assert.ok(field in (response.json() as { error: object }).error, response.text);
    }
    const badUpsert = await sendJson(
      master.url,
      "/v1/secrets/default/A",
      "PUT",
      { value: "1", upsert: "yes" },
      master.auth,
    );
    nativeError(badUpsert, 422);
    nativeError(await post({ name: "A", value: "1" }, "nope"), 404);
    nativeError(await send(master.url, "/v1/grids/nope/secrets", { headers: master.auth }), 404);
    nativeError(await send(master.url, "/v1/secrets/nope/A", { headers: master.auth }), 404);
    nativeError(await send(master.url, "/v1/secrets/default/no.such", { headers: master.auth }), 404);
    const read = await send(master.url, "/v1/secrets/default/A", { headers: master.auth });
    assert.equal((read.json() as SecretBody).value, "1");
  });

  it("is open to the grid's members and closed to everyone else", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "matrix");
    for (const [index, caller] of (["admin", "gridAdmin", "member"] as const).entries()) {
      const headers = callers[caller];
      const name = `S${index}`;
      assert.equal(
        (await sendJson(master.url, "/v1/grids/matrix/secrets", "POST", { name, value: "v" }, headers)).status,
        201,
      );
      assert.equal((await send(master.url, "/v1/grids/matrix/secrets", { headers })).status, 200);
      assert.equal((await send(master.url, `/v1/secrets/matrix/${name}`, { headers })).status, 200);
      assert.equal(
        (await sendJson(master.url, `/v1/secrets/matrix/${name}`, "PUT", { value: "w" }, headers)).status,
        200,
      );
      assert.equal((await send(master.url, `/v1/secrets/matrix/${name}`, { method: "DELETE", headers })).status, 200);
    }
    await sendJson(master.url, "/v1/grids/matrix/secrets", "POST", { name: "KEPT", value: "v" }, master.auth);
    for (const [caller, status] of [
      ["outsider", 403],
      ["anonymous", 401],
    ] as const) {
      const headers = callers[caller];
      nativeError(await send(master.url, "/v1/grids/matrix/secrets", { headers }), status);
      nativeError(
        await sendJson(master.url, "/v1/grids/matrix/secrets", "POST", { name: "X", value: "v" }, headers),
        status,
      );
      nativeError(await send(master.url, "/v1/secrets/matrix/KEPT", { headers }), status);
      nativeError(
        await sendJson(master.url, "/v1/secrets/matrix/KEPT", "PUT", { value: "w", upsert: true }, headers),
        status,
      );
      nativeError(await send(master.url, "/v1/secrets/matrix/KEPT", { method: "DELETE", headers }), status);
    }
    // An outsider cannot tell a missing grid from one they may not see.
    nativeError(await send(master.url, "/v1/grids/nope/secrets", { headers: callers.outsider }), 403);
    const kept = await send(master.url, "/v1/secrets/matrix/KEPT", { headers: master.auth });
    assert.equal((kept.json() as SecretBody).value, "v");
  });

  it("never keeps a secret value or grid token in clear on disk, nor logs one", async (t) => {
    const dataDir = await makeTempDir(t);
    const lines: string[] = [];
    const logDestination: DestinationStream = { write: (line: string) => void lines.push(line) };
    const master = await startTestMaster(t, dataDir, { logLevel: "trace", logDestination });
    const values = [`plain-${randomBytes(12).toString("hex")}`, `upd-${randomBytes(12).toString("hex")}`];
    const control = `NAME_${randomBytes(6).toString("hex")}`;
    await sendJson(master.url, "/v1/grids/default/secrets", "POST", { name: control, value: values[0] }, master.auth);
    await sendJson(master.url, `/v1/secrets/default/${control}`, "PUT", { value: values[1] }, master.auth);
    const read = await send(master.url, `/v1/secrets/default/${control}`, { headers: master.auth });
    assert.equal((read.json() as SecretBody).value, values[1]);
    const grid = (await send(master.url, "/v1/grids/default", { headers: master.auth })).json() as { token: string };

    const secrets = [...values, grid.token];
    // While the master runs (the records in the WAL) and after it closed (checkpointed into the file).
    await assertNotAtRest(dataDir, secrets, control);
    await master.close();
    await assertNotAtRest(dataDir, secrets, control);
    const log = lines.join("");
    assert.ok(log.includes(control), "the log holds no request at all");
    for (const secret of secrets) assert.equal(log.includes(secret), false, "a secret was logged");
  });
});
