import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { send } from "../../support/http-client.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { startTestMaster } from "../../support/test-master.ts";

const packageVersion = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")).version;

test("GET /info describes the Director without authentication", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/info");
  assert.equal(response.status, 200);
  const info = response.json() as Record<string, unknown>;
  assert.match(String(info.uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(info, {
    name: "Berth Director",
    uuid: info.uuid,
    version: packageVersion,
    user: null,
    cpi: "docker",
    user_authentication: { type: "basic", options: {} },
  });
});

test("the Director uuid is stable across restarts and differs between installations", async (t) => {
  const dataDir = await makeTempDir(t);
  const first = await startTestMaster(t, dataDir);
  const uuid = ((await send(first.url, "/info")).json() as { uuid: string }).uuid;
  await first.close();
  const again = await startTestMaster(t, dataDir);
  assert.equal(((await send(again.url, "/info")).json() as { uuid: string }).uuid, uuid);
  const other = await startTestMaster(t);
  assert.notEqual(((await send(other.url, "/info")).json() as { uuid: string }).uuid, uuid);
});
