import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type Consul from "consul";
import { consulClient, consulFailure, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson, type TestResponse } from "../../support/http-client.ts";
import { startTestMaster } from "../../support/test-master.ts";

const consulError = errorShapeOf("consul");
/** Consul answers `false`; the npm client resolves a false body as undefined. */
const REFUSED = undefined;

interface DirEntry {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const indexOf = (response: TestResponse): number => Number(response.headers.get("x-consul-index"));
const put = (url: string, path: string, body: string | Uint8Array = "", headers: Record<string, string> = {}) =>
  send(url, path, { method: "PUT", body, headers });

/** Consul's read headers, on every read, 404s included. */
function assertReadHeaders(response: TestResponse, consistency = "leader"): void {
  assert.ok(indexOf(response) >= 1, `X-Consul-Index: ${response.headers.get("x-consul-index")}`);
  assert.equal(response.headers.get("x-consul-knownleader"), "true");
  assert.equal(response.headers.get("x-consul-lastcontact"), "0");
  assert.equal(response.headers.get("x-consul-effective-consistency"), consistency);
}

describe("Consul KV endpoint", () => {
  it("stores raw bytes of any content type and returns Consul's entry shape", async (t) => {
    const { master } = await startConsulMaster(t);
    const bytes = Uint8Array.from([0, 1, 2, 250, 255, 10]);
    assert.equal((await put(master.url, "/v1/kv/bin", bytes, { "content-type": "application/json" })).text, "true");
    assert.equal((await put(master.url, "/v1/kv/text", "{not json", { "content-type": "text/plain" })).text, "true");
    assert.equal((await put(master.url, "/v1/kv/empty")).text, "true");

    const response = await send(master.url, "/v1/kv/bin");
    assert.equal(response.status, 200);
    assert.equal(response.contentType, "application/json");
    assertReadHeaders(response);
    const [entry] = response.json() as DirEntry[];
    assert.deepEqual(Object.keys(entry!), ["LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"]);
    assert.equal(entry!.Value, Buffer.from(bytes).toString("base64"));
    assert.equal(entry!.CreateIndex, indexOf(response));
    assert.equal(entry!.ModifyIndex, indexOf(response));
    assert.equal(((await send(master.url, "/v1/kv/empty")).json() as DirEntry[])[0]!.Value, null);
    assert.equal(((await send(master.url, "/v1/kv/text")).json() as DirEntry[])[0]!.Value, "e25vdCBqc29u");

    const raw = await send(master.url, "/v1/kv/text?raw");
    assert.equal(raw.text, "{not json");
    assert.equal(raw.contentType, "text/plain");
    assert.equal(raw.headers.get("x-content-type-options"), "nosniff");
    assert.equal(raw.headers.get("content-security-policy"), "sandbox");
    assertReadHeaders(raw);
  });

  it("answers a missing key 404 with an empty body, headers set and the index of the latest KV change", async (t) => {
    const { master } = await startConsulMaster(t);
    await put(master.url, "/v1/kv/doomed", "x");
    await put(master.url, "/v1/kv/other", "y");
    const deleted = await send(master.url, "/v1/kv/doomed", { method: "DELETE" });
    assert.equal(deleted.text, "true");
    const missing = await send(master.url, "/v1/kv/never");
    assert.equal(missing.status, 404);
    assert.equal(missing.text, "");
    assertReadHeaders(missing);
    const other = await send(master.url, "/v1/kv/other");
    assert.equal(indexOf(missing), indexOf(other) + 1, "the delete's index, past the last put");
    assert.equal((await send(master.url, "/v1/kv/doomed")).status, 404);
  });

  it("lists keys with a separator (either spelling), trees with recurse, and 404s for empty prefixes", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    for (const key of ["web/a", "web/b/1", "web/b/2", "web/c/x/y", "webx"]) await consul.kv.set(key, key);
    assert.deepEqual(await consul.kv.keys("web/"), ["web/a", "web/b/1", "web/b/2", "web/c/x/y"]);
    assert.deepEqual(await consul.kv.keys({ key: "web/", separator: "/" }), ["web/a", "web/b/", "web/c/"]);
    assert.deepEqual((await send(master.url, "/v1/kv/web/?keys&seperator=/")).json(), ["web/a", "web/b/", "web/c/"]);
    assert.deepEqual((await send(master.url, "/v1/kv/?keys&separator=/")).json(), ["web/", "webx"]);
    const none = await send(master.url, "/v1/kv/nothing/?keys");
    assert.equal(none.status, 404);
    assertReadHeaders(none);

    for (const flag of ["recurse", "recurse=1", "recurse=true"]) {
      const tree = await send(master.url, `/v1/kv/web/b/?${flag}`);
      assert.deepEqual(
        (tree.json() as DirEntry[]).map((entry) => [entry.Key, Buffer.from(entry.Value!, "base64").toString()]),
        [
          ["web/b/1", "web/b/1"],
          ["web/b/2", "web/b/2"],
        ],
      );
      assert.equal(indexOf(tree), Math.max(...(tree.json() as DirEntry[]).map((entry) => entry.ModifyIndex)));
    }
    assert.equal((await send(master.url, "/v1/kv/nothing/?recurse")).status, 404);
    assert.equal(((await consul.kv.get({ key: "web/", recurse: true })) as unknown as DirEntry[]).length, 4);
    // The whole store, from the root.
    assert.equal(((await send(master.url, "/v1/kv/?recurse")).json() as DirEntry[]).length, 5);
    assert.deepEqual((await send(new URL(master.url).origin, "/v1/kv/?keys")).json(), [
      "web/a",
      "web/b/1",
      "web/b/2",
      "web/c/x/y",
      "webx",
    ]);
  });

  it("keeps flags as exact uint64s and takes percent-encoded keys", async (t) => {
    const { master } = await startConsulMaster(t);
    assert.equal((await put(master.url, "/v1/kv/a%2Fb%20c%3Fd?flags=18446744073709551615", "v")).text, "true");
    const response = await send(master.url, "/v1/kv/a/b%20c%3Fd");
    assert.match(response.text, /"Key":"a\/b c\?d","Flags":18446744073709551615,/);
    const bad = await put(master.url, "/v1/kv/f?flags=18446744073709551616", "v");
    assert.equal(consulError(bad, 400), 'strconv.ParseUint: parsing "18446744073709551616": value out of range');
    consulError(await put(master.url, "/v1/kv/f?flags=-1", "v"), 400);
    consulError(await put(master.url, "/v1/kv/f?cas=abc", "v"), 400);
  });

  it("does check-and-set: cas=0 creates only, cas=N writes only at ModifyIndex N", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    assert.equal((await put(master.url, "/v1/kv/raw-cas?cas=0", "x")).text, "true");
    assert.equal((await put(master.url, "/v1/kv/raw-cas?cas=0", "x")).text, "false");
    assert.equal(await consul.kv.set({ key: "c", value: "1", cas: 0 }), true);
    assert.equal(await consul.kv.set({ key: "c", value: "2", cas: 0 }), REFUSED);
    const entry = (await consul.kv.get("c")) as DirEntry;
    assert.equal(await consul.kv.set({ key: "c", value: "2", cas: entry.ModifyIndex + 100 }), REFUSED);
    assert.equal(await consul.kv.set({ key: "c", value: "2", cas: entry.ModifyIndex }), true);
    assert.equal(((await consul.kv.get("c")) as DirEntry).Value, "2");
    assert.equal(await consul.kv.del({ key: "c", cas: entry.ModifyIndex }), REFUSED);
    const now = (await consul.kv.get("c")) as DirEntry;
    assert.equal(await consul.kv.del({ key: "c", cas: now.ModifyIndex }), true);
    assert.equal(await consul.kv.get("c"), undefined);
  });

  it("deletes a tree with recurse", async (t) => {
    const { consul } = await startConsulMaster(t);
    for (const key of ["t/1", "t/2/3", "tx"]) await consul.kv.set(key, "v");
    assert.equal(await consul.kv.del({ key: "t/", recurse: true }), true);
    assert.deepEqual(await consul.kv.keys(""), ["tx"]);
  });

  it("refuses bad input in Consul's words", async (t) => {
    const { master } = await startConsulMaster(t);
    assert.equal(consulError(await put(master.url, "/v1/kv/", "x"), 400), "Missing key name");
    assert.equal(consulError(await send(master.url, "/v1/kv/"), 400), "Missing key name");
    assert.equal(consulError(await send(master.url, "/v1/kv/", { method: "DELETE" }), 400), "Missing key name");
    assert.equal(
      consulError(await put(master.url, "/v1/kv/k?release=s&cas=5", "x"), 400),
      "Conflicting flags: cas=5&release=s",
    );
    consulError(await put(master.url, "/v1/kv/k?acquire=s&release=s", "x"), 400);
    assert.equal(
      consulError(await send(master.url, "/v1/kv/k?recurse&cas=3", { method: "DELETE" }), 400),
      "Conflicting flags: cas=3&recurse=",
    );
    assert.equal(
      consulError(await send(master.url, "/v1/kv/k?stale&consistent"), 400),
      "Cannot specify ?stale with ?consistent, conflicting semantics.",
    );
    const tooBig = await put(master.url, "/v1/kv/big", Buffer.alloc(512 * 1024 + 1, 1));
    assert.match(consulError(tooBig, 413), /^Request body\(524289 bytes\) too large, max size: 524288 bytes/);
    assert.equal((await put(master.url, "/v1/kv/limit", Buffer.alloc(512 * 1024, 1))).text, "true");
    assert.equal(consulError(await send(master.url, "/v1/kv/k?dc=nowhere"), 500), "No path to datacenter");
    consulError(await put(master.url, "/v1/kv/nul%00byte", "x"), 400);
    assert.equal((await send(master.url, "/v1/kv/big")).status, 404, "nothing half-written");
  });

  it("reports the read mode and lays JSON out with ?pretty", async (t) => {
    const { master } = await startConsulMaster(t);
    await put(master.url, "/v1/kv/p", "<&>");
    assertReadHeaders(await send(master.url, "/v1/kv/p?stale"), "stale");
    assertReadHeaders(await send(master.url, "/v1/kv/p?consistent="), "consistent");
    const pretty = await send(master.url, "/v1/kv/p?pretty");
    const entry = (pretty.json() as DirEntry[])[0]!;
    assert.equal(
      pretty.text,
      "[\n    {\n" +
        `        "LockIndex": 0,\n        "Key": "p",\n        "Flags": 0,\n        "Value": "PCY+",\n` +
        `        "CreateIndex": ${entry.CreateIndex},\n        "ModifyIndex": ${entry.ModifyIndex}\n    }\n]\n`,
    );
    await put(master.url, "/v1/kv/a<b>&c", "v");
    assert.equal((await send(master.url, "/v1/kv/?keys")).text, '["a\\u003cb\\u003e\\u0026c","p"]');
  });

  it("locks with acquire and release: LockIndex, the holder's updates, other sessions refused", async (t) => {
    const { consul } = await startConsulMaster(t);
    const { ID: holder } = (await consul.session.create({ lockdelay: "1s" })) as { ID: string };
    const { ID: rival } = (await consul.session.create({ lockdelay: "0s" })) as { ID: string };
    assert.equal(await consul.kv.set({ key: "lock", value: "a", acquire: holder }), true);
    let entry = (await consul.kv.get("lock")) as DirEntry;
    assert.deepEqual([entry.LockIndex, entry.Session, entry.Value], [1, holder, "a"]);
    assert.equal(await consul.kv.set({ key: "lock", value: "b", acquire: holder }), true);
    entry = (await consul.kv.get("lock")) as DirEntry;
    assert.deepEqual([entry.LockIndex, entry.Session, entry.Value], [1, holder, "b"]);
    assert.equal(await consul.kv.set({ key: "lock", value: "c", acquire: rival }), REFUSED);
    assert.equal(await consul.kv.set({ key: "lock", value: "c", release: rival }), REFUSED);
    assert.equal(await consul.kv.set({ key: "lock", value: "d", release: holder }), true);
    entry = (await consul.kv.get("lock")) as DirEntry;
    assert.deepEqual([entry.LockIndex, entry.Session, entry.Value], [1, undefined, "d"]);
    assert.equal(await consul.kv.set({ key: "lock", value: "e", acquire: rival }), true);
    assert.equal(((await consul.kv.get("lock")) as DirEntry).LockIndex, 2);

    const invalid = await consulFailure(consul.kv.set({ key: "lock2", value: "x", acquire: "no-such-session" }));
    assert.deepEqual(invalid, { status: 500, body: 'invalid session "no-such-session"' });
  });

  it("arms the lock delay when a session holding a lock is destroyed", async (t) => {
    const { consul } = await startConsulMaster(t);
    const { ID: holder } = (await consul.session.create({ lockdelay: "1s" })) as { ID: string };
    const { ID: waiter } = (await consul.session.create({ lockdelay: "0s" })) as { ID: string };
    await consul.kv.set({ key: "leader", value: "me", acquire: holder });
    await consul.session.destroy(holder);
    const released = (await consul.kv.get("leader")) as DirEntry;
    assert.equal(released.Session, undefined);
    assert.equal(released.LockIndex, 1);
    const started = Date.now();
    assert.equal(await consul.kv.set({ key: "leader", value: "you", acquire: waiter }), REFUSED);
    while (!(await consul.kv.set({ key: "leader", value: "you", acquire: waiter }))) await sleep(50);
    const waited = Date.now() - started;
    assert.ok(waited >= 800 && waited < 3000, `acquired after ${waited} ms`);
  });

  it("blocks until the key changes, wakes on a delete, and times out with jitter", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.kv.set("watched", "1");
    const first = await send(master.url, "/v1/kv/watched");
    const index = indexOf(first);

    const waiting = send(master.url, `/v1/kv/watched?index=${index}&wait=10s`);
    await sleep(100);
    await consul.kv.set("unrelated", "x");
    await consul.kv.set("watched", "2");
    const woke = await waiting;
    assert.equal(woke.status, 200);
    assert.equal(Buffer.from((woke.json() as DirEntry[])[0]!.Value!, "base64").toString(), "2");
    assert.ok(indexOf(woke) > index);

    const deleting = send(master.url, `/v1/kv/watched?index=${indexOf(woke)}&wait=10s`);
    await sleep(100);
    await consul.kv.del("watched");
    const gone = await deleting;
    assert.equal(gone.status, 404);
    assert.ok(indexOf(gone) > indexOf(woke));

    const started = Date.now();
    const timedOut = await send(master.url, `/v1/kv/?recurse&index=${indexOf(gone)}&wait=400ms`);
    const waited = Date.now() - started;
    assert.ok(waited >= 400 && waited < 400 + 400 / 16 + 300, `answered after ${waited} ms`);
    assert.equal(indexOf(timedOut), indexOf(gone));
    // The tree wait was on "", so it reports the whole KV: only "unrelated" is left.
    assert.deepEqual(
      (timedOut.json() as DirEntry[]).map((entry) => entry.Key),
      ["unrelated"],
    );
  });

  it("32 concurrent clients incrementing one counter by CAS lose no update", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.kv.set("counter", "0");
    const clients = Array.from({ length: 32 }, () => consulClient(master));
    t.after(() => {
      for (const client of clients) client.destroy();
    });
    let successes = 0;
    let attempts = 0;
    await Promise.all(
      clients.map(async (client: Consul) => {
        for (let i = 0; i < 8; i++) {
          const entry = (await client.kv.get("counter")) as DirEntry;
          attempts++;
          if (await client.kv.set({ key: "counter", value: String(Number(entry.Value) + 1), cas: entry.ModifyIndex })) {
            successes++;
          }
        }
      }),
    );
    const final = (await consul.kv.get("counter")) as DirEntry;
    assert.equal(Number(final.Value), successes);
    assert.equal(attempts, 256);
    assert.ok(successes >= 8, `only ${successes} successful writes`);
  });

  it("enforces ACLs: hidden keys read as missing, lists are filtered, writes and tree deletes are denied", async (t) => {
    const masterToken = "1d0f1e8e-7c6b-4a5d-9e8f-7a6b5c4d3e2f";
    const master = await startTestMaster(t, undefined, { consulAclMasterToken: masterToken });
    const admin = consulClient(master, masterToken);
    t.after(() => admin.destroy());
    for (const key of ["app/config", "app/secret/password", "other"]) await admin.kv.set(key, "v");
    const rules = 'key "app/" { policy = "write" }\nkey "app/secret/" { policy = "deny" }';
    const { ID: token } = (await admin.acl.legacy.create({ name: "app", type: "client", rules })) as { ID: string };
    const app = consulClient(master, token);
    t.after(() => app.destroy());

    assert.equal(((await app.kv.get("app/config")) as DirEntry).Key, "app/config");
    const hidden = await send(master.url, `/v1/kv/app/secret/password?token=${token}`);
    assert.equal(hidden.status, 404);
    assertReadHeaders(hidden);
    assert.equal(await app.kv.get("other"), undefined);
    assert.deepEqual(await app.kv.keys(""), ["app/config"]);
    assert.deepEqual(
      ((await app.kv.get({ key: "app/", recurse: true })) as DirEntry[]).map((entry) => entry.Key),
      ["app/config"],
    );
    assert.equal(await app.kv.set("app/new", "v"), true);
    assert.deepEqual(await consulFailure(app.kv.set("other", "v")), { status: 403, body: "Permission denied" });
    assert.deepEqual(await consulFailure(app.kv.set("app/secret/x", "v")), { status: 403, body: "Permission denied" });
    assert.deepEqual(await consulFailure(app.kv.del({ key: "app/", recurse: true })), {
      status: 403,
      body: "Permission denied",
    });
    assert.equal(await app.kv.del({ key: "app/new" }), true);
    assert.equal(((await admin.kv.get("app/secret/password")) as DirEntry).Key, "app/secret/password");
    const anonymous = await sendJson(master.url, "/v1/kv/app/config", "PUT", "x");
    assert.equal(consulError(anonymous, 403), "Permission denied");
  });
});
