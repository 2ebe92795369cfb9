import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { consulClient, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, type TestResponse } from "../../support/http-client.ts";
import { startTestMaster } from "../../support/test-master.ts";

const consulError = errorShapeOf("consul");
const b64 = (text: string) => Buffer.from(text).toString("base64");
const txn = (url: string, body: unknown, query = "") =>
  send(url, `/v1/txn${query}`, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) });

interface TxnBody {
  Results:
    | { KV: { Key: string; Value: string | null; Flags: number; ModifyIndex: number; LockIndex: number } }[]
    | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

const bodyOf = (response: TestResponse): TxnBody => response.json() as TxnBody;

describe("Consul /v1/txn", () => {
  it("applies every operation atomically at one index and answers each result", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.kv.set("existing", "old");
    const response = await txn(master.url, [
      { KV: { Verb: "set", Key: "a", Value: b64("1"), Flags: 7 } },
      { kv: { verb: "cas", key: "b", value: b64("2"), index: 0 } },
      { KV: { Verb: "get", Key: "existing" } },
      { KV: { Verb: "delete", Key: "existing" } },
      { KV: { Verb: "check-not-exists", Key: "existing" } },
      { KV: { Verb: "get-tree", Key: "" } },
    ]);
    // Every operation but delete-tree needs a key, as in Consul.
    assert.deepEqual(bodyOf(response).Errors, [{ OpIndex: 5, What: "Must provide key" }]);
    await consul.kv.set("z", "z");
    await consul.kv.del("existing");
    await consul.kv.set("existing", "old");
    const applied = await txn(master.url, [
      { KV: { Verb: "set", Key: "a", Value: b64("1"), Flags: 7 } },
      { kv: { verb: "cas", key: "b", value: b64("2"), index: 0 } },
      { KV: { Verb: "get", Key: "existing" } },
      { KV: { Verb: "delete", Key: "existing" } },
      { KV: { Verb: "check-not-exists", Key: "existing" } },
      { KV: { Verb: "delete-tree", Key: "z" } },
      { KV: { Verb: "get-tree", Key: "b" } },
    ]);
    assert.equal(applied.status, 200, applied.text);
    assert.equal(response.contentType, "application/json");
    const { Results, Errors } = bodyOf(applied);
    assert.equal(Errors, null);
    const index = Results![0]!.KV.ModifyIndex;
    assert.deepEqual(
      Results!.map(({ KV }) => [KV.Key, KV.Value, KV.Flags]),
      [
        ["a", null, 7],
        ["b", null, 0],
        ["existing", b64("old"), 0],
        ["b", b64("2"), 0],
      ],
    );
    assert.equal(Results![1]!.KV.ModifyIndex, index);
    assert.equal(Results![3]!.KV.ModifyIndex, index);
    assert.equal(Number((await send(master.url, "/v1/kv/a")).headers.get("x-consul-index")), index);
    assert.equal(await consul.kv.get("existing"), undefined);
    assert.equal(await consul.kv.get("z"), undefined);
    assert.equal(applied.headers.get("x-consul-index"), null, "a write transaction is no read");
  });

  it("answers 409 with every failed operation and writes nothing", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.kv.set("taken", "x");
    const before = Number((await send(master.url, "/v1/kv/taken")).headers.get("x-consul-index"));
    const response = await txn(master.url, [
      { KV: { Verb: "set", Key: "new", Value: b64("v") } },
      { KV: { Verb: "cas", Key: "taken", Value: b64("y"), Index: 0 } },
      { KV: { Verb: "check-index", Key: "taken", Index: 1 } },
      { KV: { Verb: "lock", Key: "l", Session: "nope" } },
      { KV: { Verb: "explode", Key: "k" } },
    ]);
    assert.equal(response.status, 409);
    assert.equal(response.contentType, "application/json");
    assert.deepEqual(bodyOf(response), {
      Results: null,
      Errors: [
        { OpIndex: 1, What: 'failed to set key "taken", index is stale' },
        { OpIndex: 2, What: `failed index check for key "taken", current modify index ${before} != 1` },
        { OpIndex: 3, What: 'invalid session "nope"' },
        { OpIndex: 4, What: 'unknown KV verb "explode"' },
      ],
    });
    assert.equal(await consul.kv.get("new"), undefined);
    assert.equal(Number((await send(master.url, "/v1/kv/taken")).headers.get("x-consul-index")), before);
  });

  it("serves read-only transactions as reads: consistency modes and leader headers, no index", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.kv.set("r", "v");
    const read = await txn(master.url, [{ KV: { Verb: "get", Key: "r" } }], "?stale");
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("x-consul-knownleader"), "true");
    assert.equal(read.headers.get("x-consul-lastcontact"), "0");
    assert.equal(read.headers.get("x-consul-effective-consistency"), "stale");
    assert.equal(read.headers.get("x-consul-index"), null);
    assert.equal(bodyOf(read).Results![0]!.KV.Value, b64("v"));
    const missing = await txn(master.url, [{ KV: { Verb: "get", Key: "nope" } }]);
    assert.deepEqual(bodyOf(missing), { Results: null, Errors: [{ OpIndex: 0, What: `key "nope" doesn't exist` }] });
    consulError(await txn(master.url, [{ KV: { Verb: "get", Key: "r" } }], "?stale&consistent"), 400);
  });

  it("works through the npm consul client, flags exact past 2^53", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    const operations = [
      { KV: { Verb: "set", Key: "via-client", Value: b64("c") } },
      { KV: { Verb: "get", Key: "via-client" } },
    ];
    // The client sends the operations as they are; its typings describe a shape Consul does not take.
    const results = (await consul.transaction.create(operations as never, {} as never)) as unknown as TxnBody;
    assert.equal(results.Results![1]!.KV.Value, b64("c"));
    const big = await txn(master.url, '[{"KV":{"Verb":"set","Key":"big","Flags":18446744073709551615}}]');
    assert.match(big.text, /"Flags":18446744073709551615/);
    assert.match((await send(master.url, "/v1/kv/big")).text, /"Flags":18446744073709551615,/);
  });

  it("refuses bad bodies: 400 for what does not parse, 413 for too many operations or bytes", async (t) => {
    const { master } = await startConsulMaster(t);
    assert.match(consulError(await txn(master.url, "{not json"), 400), /^Failed to parse body: /);
    assert.match(consulError(await txn(master.url, { KV: {} }), 400), /^Failed to parse body: /);
    assert.match(
      consulError(await txn(master.url, [{ KV: { Verb: "set", Key: "k", Value: "not base64!" } }]), 400),
      /base64/,
    );
    assert.match(consulError(await txn(master.url, '[{"KV":{"Verb":"set","Key":"k","Flags":-1}}]'), 400), /Flags/);
    assert.match(consulError(await txn(master.url, '[{"KV":{"Verb":"set","Key":"k","Flags":1.5}}]'), 400), /Flags/);
    const ops = Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: "set", Key: `k${i}`, Value: b64("v") } }));
    assert.equal(consulError(await txn(master.url, ops), 413), "Transaction contains too many operations (65 > 64)");
    assert.equal((await txn(master.url, ops.slice(0, 64))).status, 200);
    const huge = [{ KV: { Verb: "set", Key: "k", Value: Buffer.alloc(400 * 1024).toString("base64") } }];
    assert.equal(consulError(await txn(master.url, huge), 413), "Request body too large, max size: 524288 bytes");
    const emptyKey = await txn(master.url, [{ KV: { Verb: "set", Key: "", Value: b64("v") } }]);
    assert.deepEqual(bodyOf(emptyKey).Errors, [{ OpIndex: 0, What: "Must provide key" }]);
  });

  it("checks ACLs per operation and filters what a token may not read", async (t) => {
    const masterToken = "b7a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d";
    const master = await startTestMaster(t, undefined, { consulAclMasterToken: masterToken });
    const admin = consulClient(master, masterToken);
    t.after(() => admin.destroy());
    await admin.kv.set("k/mine", "1");
    await admin.kv.set("k/theirs", "2");
    const { ID: token } = (await admin.acl.legacy.create({
      type: "client",
      rules: 'key "k/mine" { policy = "write" }',
    })) as { ID: string };
    const denied = await txn(
      master.url,
      [{ KV: { Verb: "set", Key: "k/theirs", Value: b64("x") } }],
      `?token=${token}`,
    );
    assert.deepEqual(bodyOf(denied), { Results: null, Errors: [{ OpIndex: 0, What: "Permission denied" }] });
    const filtered = await txn(master.url, [{ KV: { Verb: "get-tree", Key: "k/" } }], `?token=${token}`);
    assert.deepEqual(
      bodyOf(filtered).Results!.map(({ KV }) => KV.Key),
      ["k/mine"],
    );
  });
});
