import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { startMaster } from "../../src/master/start-master.ts";
import { send } from "../support/http-client.ts";
import { makeTempDir } from "../support/temp-dir.ts";
import { loginToken, TEST_ADMIN_PASSWORD } from "../support/test-master.ts";

const quiet = { host: "127.0.0.1", port: 0, logLevel: "silent", dev: false } as const;

test("startMaster creates the data dir and database, prints URL and data dir, and serves", async (t) => {
  const dataDir = join(await makeTempDir(t), "nested", "data");
  const printed: string[] = [];
  const master = await startMaster({ ...quiet, dataDir, print: (line) => printed.push(line) });
  t.after(() => master.close());
  assert.ok((await stat(join(dataDir, "berth.db"))).isFile());
  assert.equal(master.databasePath, join(dataDir, "berth.db"));
  assert.match(master.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(printed.slice(0, 2), [`Berth master listening on ${master.url}`, `Data directory: ${dataDir}`]);
  assert.equal((await send(master.url, "/readyz")).status, 200);
  assert.equal((await send(master.url, "/v1/status/leader")).text, `"${master.url.slice("http://".length)}"`);
});

test("close stops serving and closes the store, so the data dir can be opened again; close is idempotent", async (t) => {
  const dataDir = await makeTempDir(t);
  const master = await startMaster({ ...quiet, dataDir, adminPassword: TEST_ADMIN_PASSWORD, print: () => {} });
  const auth = { authorization: `Bearer ${await loginToken(master.url)}` };
  await send(master.url, "/v1/config", {
    method: "PUT",
    headers: { "content-type": "application/json", ...auth },
    body: '{"a":"b"}',
  });
  await Promise.all([master.close(), master.close()]);
  await master.close();
  await assert.rejects(send(master.url, "/healthz"));
  const again = await startMaster({ ...quiet, dataDir, print: () => {} });
  t.after(() => again.close());
  assert.deepEqual((await send(again.url, "/v1/config", { headers: auth })).json(), { a: "b" });
});

test("a port already taken fails startup cleanly", async (t) => {
  const first = await startMaster({ ...quiet, dataDir: await makeTempDir(t), print: () => {} });
  t.after(() => first.close());
  const port = Number(new URL(first.url).port);
  const dataDir = await makeTempDir(t);
  await assert.rejects(startMaster({ ...quiet, port, dataDir, print: () => {} }), /EADDRINUSE/);
  // The failed attempt released the store: the same data dir starts fine.
  const second = await startMaster({ ...quiet, dataDir, print: () => {} });
  await second.close();
});

test("the dev banner says so", async (t) => {
  const printed: string[] = [];
  const master = await startMaster({
    ...quiet,
    dev: true,
    dataDir: await makeTempDir(t),
    print: (line) => printed.push(line),
  });
  t.after(() => master.close());
  assert.match(printed[0] ?? "", /^Berth dev master listening on http:\/\/127\.0\.0\.1:\d+$/);
});
