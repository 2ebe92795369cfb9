import assert from "node:assert/strict";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { nodeIdentityPath, readNodeIdentity, writeNodeIdentity } from "../../src/agent/node-identity-file.ts";
import { makeTempDir } from "../support/temp-dir.ts";

const identity = { master_url: "http://m:8500", grid: "default", name: "one", node_token: "secret-token" };

test("no identity before the first join; afterwards the stored one, readable by its owner only", async (t) => {
  const dir = join(await makeTempDir(t), "agent");
  assert.equal(await readNodeIdentity(dir), null);
  await writeNodeIdentity(dir, identity);
  assert.deepEqual(await readNodeIdentity(dir), identity);
  assert.equal((await stat(nodeIdentityPath(dir))).mode & 0o777, 0o600);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  await writeNodeIdentity(dir, { ...identity, node_token: "new" });
  assert.equal((await readNodeIdentity(dir))?.node_token, "new");
  assert.deepEqual(await readdir(dir), ["node-identity.json"], "no temp file left");
});

test("a corrupt identity file is an error that says what to do", async (t) => {
  const dir = await makeTempDir(t);
  for (const text of ["{not json", JSON.stringify({ grid: "default" })]) {
    await writeFile(nodeIdentityPath(dir), text);
    await assert.rejects(readNodeIdentity(dir), /is not a node identity: remove it to join the grid again/);
  }
});
