import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { sendJson } from "../../support/http-client.ts";
import { desiredInstance } from "../../support/node-fixtures.ts";
import { helloMessage, openRawLink } from "../../support/raw-link.ts";
import { loginToken, startWatchedMaster, TEST_ADMIN_PASSWORD } from "../../support/test-master.ts";

type SentInstance = { id: string; env: string[]; secrets: { secret: string; name: string }[] };

describe("agent link: secrets as env", () => {
  it("resolves secret refs into env in the snapshot and every change; the value is neither stored nor logged", async (t) => {
    const { master, logs } = await startWatchedMaster(t, { adminPassword: TEST_ADMIN_PASSWORD });
    const auth = { authorization: `Bearer ${await loginToken(master.url)}` };
    const value = `v-${randomBytes(12).toString("hex")}`;
    const created = await sendJson(
      master.url,
      "/v1/grids/default/secrets",
      "POST",
      { name: "DB_PASSWORD", value },
      auth,
    );
    assert.equal(created.status, 201, created.text);

    const gridToken = (await master.core.grids.get("default")).token;
    const link = await openRawLink(t, master.url, { gridToken });
    link.send(helloMessage("one"));
    const token = (await link.next("welcome")).node_token as string;
    await link.next("desired.snapshot");

    const secrets = [
      { secret: "DB_PASSWORD", name: "DATABASE_PASSWORD" },
      { secret: "NO_SUCH_SECRET", name: "API_KEY" },
    ];
    await master.core.nodeInstances.setDesired("default", "one", [
      desiredInstance(1, { env: ["MODE=prod", "DATABASE_PASSWORD=placeholder"], secrets }),
      desiredInstance(2),
    ]);
    const change = await link.next("desired.change");
    const put = new Map((change.put as SentInstance[]).map((instance) => [instance.id, instance]));
    const withSecret = put.get("default/shop/web/1")!;
    // The value replaces an env entry of the same name; the missing secret is left out.
    assert.deepEqual(withSecret.env, ["MODE=prod", `DATABASE_PASSWORD=${value}`]);
    assert.deepEqual(withSecret.secrets, secrets, "the refs still say where env came from");
    assert.deepEqual(put.get("default/shop/web/2")?.env, []);

    // A reconnecting agent's snapshot is resolved the same way.
    link.socket.close();
    const again = await openRawLink(t, master.url, { grid: "default", name: "one", token });
    again.send(helloMessage("one"));
    const snapshot = await again.next("desired.snapshot");
    const resolved = (snapshot.instances as SentInstance[]).find((instance) => instance.id === "default/shop/web/1");
    assert.deepEqual(resolved?.env, ["MODE=prod", `DATABASE_PASSWORD=${value}`]);

    // At rest the desired instance holds only the refs.
    const stored = (await master.core.nodeInstances.snapshot("default", "one")).instances;
    assert.deepEqual(stored.find((instance) => instance.id === "default/shop/web/1")?.env, [
      "MODE=prod",
      "DATABASE_PASSWORD=placeholder",
    ]);

    const log = logs();
    assert.match(log, /"instance":"default\/shop\/web\/1","secret":"NO_SUCH_SECRET"/);
    assert.ok(!log.includes(value), "the value is never logged");

    await master.close();
    for (const file of [master.databasePath, `${master.databasePath}-wal`]) {
      const bytes = await readFile(file).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes(value), `the value is not in ${file} in plaintext`);
    }
  });
});
