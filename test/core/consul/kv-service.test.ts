import assert from "node:assert/strict";
import { test } from "node:test";
import type { Acl } from "../../../src/core/acl/acl.ts";
import { MANAGE_ALL_ACL } from "../../../src/core/acl/manage-all-acl.ts";
import { sessionStoreKey } from "../../../src/core/consul/consul-keys.ts";
import { kvOperation } from "../../../src/core/consul/kv-operation.ts";
import { KvService } from "../../../src/core/consul/kv-service.ts";
import { LockDelayTable } from "../../../src/core/consul/lock-delay-table.ts";
import { BadRequestError } from "../../../src/core/errors/bad-request-error.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { OperationFailedError } from "../../../src/core/errors/operation-failed-error.ts";
import { openTestStore } from "../../support/test-store.ts";

const allowAll = MANAGE_ALL_ACL;
const b64 = (text: string) => Buffer.from(text).toString("base64");

async function setup(t: import("node:test").TestContext) {
  const store = await openTestStore(t);
  const lockDelays = new LockDelayTable();
  const kv = new KvService(store, lockDelays);
  return { store, kv, lockDelays };
}

test("set, get and the indexes: CreateIndex stays, ModifyIndex follows the store revision", async (t) => {
  const { kv, store } = await setup(t);
  assert.equal(await kv.write("dc1", kvOperation("set", "a/b", { value: b64("one"), flags: "42" }), allowAll), true);
  const first = await kv.get("dc1", "a/b", allowAll).run();
  assert.equal(first.value?.value, b64("one"));
  assert.equal(first.value?.flags, "42");
  assert.equal(first.index, store.currentRevision());
  await kv.write("dc1", kvOperation("set", "a/b", { value: b64("two") }), allowAll);
  const second = await kv.get("dc1", "a/b", allowAll).run();
  assert.equal(second.value?.createIndex, first.value?.createIndex);
  assert.ok(second.value!.modifyIndex > first.value!.modifyIndex);
  assert.equal(second.value?.flags, "0");
});

test("an identical write changes nothing, as Consul skips it", async (t) => {
  const { kv, store } = await setup(t);
  await kv.write("dc1", kvOperation("set", "k", { value: b64("v") }), allowAll);
  const revision = store.currentRevision();
  assert.equal(await kv.write("dc1", kvOperation("set", "k", { value: b64("v") }), allowAll), true);
  assert.equal(store.currentRevision(), revision);
});

test("a missing key's index is the datacenter's latest KV change, deletions included", async (t) => {
  const { kv, store } = await setup(t);
  await kv.write("dc1", kvOperation("set", "x", { value: b64("1") }), allowAll);
  await kv.write("dc1", kvOperation("delete", "x"), allowAll);
  const missing = await kv.get("dc1", "nope", allowAll).run();
  assert.equal(missing.value, undefined);
  assert.equal(missing.index, store.currentRevision());
  // Other datacenters are other stores.
  assert.equal((await kv.get("dc2", "x", allowAll).run()).index, 1);
});

test("cas: 0 creates only, N writes only at ModifyIndex N", async (t) => {
  const { kv } = await setup(t);
  assert.equal(await kv.write("dc1", kvOperation("cas", "c", { value: b64("a"), index: 0 }), allowAll), true);
  assert.equal(await kv.write("dc1", kvOperation("cas", "c", { value: b64("b"), index: 0 }), allowAll), false);
  const { value } = await kv.get("dc1", "c", allowAll).run();
  assert.equal(
    await kv.write("dc1", kvOperation("cas", "c", { value: b64("b"), index: value!.modifyIndex + 1 }), allowAll),
    false,
  );
  assert.equal(
    await kv.write("dc1", kvOperation("cas", "c", { value: b64("b"), index: value!.modifyIndex }), allowAll),
    true,
  );
  assert.equal(await kv.write("dc1", kvOperation("cas", "gone", { value: b64("b"), index: 5 }), allowAll), false);
});

test("locks: acquire bumps LockIndex, the holder re-acquires in place, others are refused, release keeps it", async (t) => {
  const { kv, store } = await setup(t);
  await store.put(sessionStoreKey("dc1", "s1"), { name: "" });
  await store.put(sessionStoreKey("dc1", "s2"), { name: "" });
  assert.equal(await kv.write("dc1", kvOperation("lock", "l", { value: b64("v1"), session: "s1" }), allowAll), true);
  let entry = (await kv.get("dc1", "l", allowAll).run()).value!;
  assert.equal(entry.lockIndex, 1);
  assert.equal(entry.session, "s1");
  assert.equal(await kv.write("dc1", kvOperation("lock", "l", { value: b64("v2"), session: "s1" }), allowAll), true);
  entry = (await kv.get("dc1", "l", allowAll).run()).value!;
  assert.equal(entry.lockIndex, 1);
  assert.equal(entry.value, b64("v2"));
  assert.equal(await kv.write("dc1", kvOperation("lock", "l", { session: "s2" }), allowAll), false);
  assert.equal(await kv.write("dc1", kvOperation("unlock", "l", { session: "s2" }), allowAll), false);
  assert.equal(await kv.write("dc1", kvOperation("unlock", "l", { value: b64("v3"), session: "s1" }), allowAll), true);
  entry = (await kv.get("dc1", "l", allowAll).run()).value!;
  assert.equal(entry.session, "");
  assert.equal(entry.lockIndex, 1);
  assert.equal(entry.value, b64("v3"));
  assert.equal(await kv.write("dc1", kvOperation("lock", "l", { session: "s2" }), allowAll), true);
  assert.equal((await kv.get("dc1", "l", allowAll).run()).value?.lockIndex, 2);
});

test("a plain set keeps the lock holder and resets LockIndex, as Consul's kvsSetTxn does", async (t) => {
  const { kv, store } = await setup(t);
  await store.put(sessionStoreKey("dc1", "s1"), { name: "" });
  await kv.write("dc1", kvOperation("lock", "l", { session: "s1" }), allowAll);
  await kv.write("dc1", kvOperation("set", "l", { value: b64("x") }), allowAll);
  const entry = (await kv.get("dc1", "l", allowAll).run()).value!;
  assert.equal(entry.session, "s1");
  assert.equal(entry.lockIndex, 0);
});

test("acquiring with an unknown or empty session fails as Consul's RPC does; lock delay refuses", async (t) => {
  const { kv, store, lockDelays } = await setup(t);
  await assert.rejects(kv.write("dc1", kvOperation("lock", "l", { session: "nope" }), allowAll), (error) => {
    assert.ok(error instanceof OperationFailedError);
    assert.equal(error.message, 'invalid session "nope"');
    return true;
  });
  await assert.rejects(kv.write("dc1", kvOperation("lock", "l"), allowAll), /missing session/);
  await store.put(sessionStoreKey("dc1", "s1"), { name: "" });
  lockDelays.arm("dc1", "l", 1000);
  assert.equal(await kv.write("dc1", kvOperation("lock", "l", { session: "s1" }), allowAll), false);
  assert.equal((await kv.get("dc1", "l", allowAll).run()).value, undefined);
});

test("list, keys with a separator, and their index", async (t) => {
  const { kv, store } = await setup(t);
  for (const key of ["web/a", "web/b/1", "web/b/2", "web/c/x/y", "webx", "other"]) {
    await kv.write("dc1", kvOperation("set", key, { value: b64(key) }), allowAll);
  }
  const list = await kv.list("dc1", "web/", allowAll).run();
  assert.deepEqual(
    list.value.map((e) => e.key),
    ["web/a", "web/b/1", "web/b/2", "web/c/x/y"],
  );
  assert.equal(list.index, store.currentRevision() - 2);
  assert.deepEqual((await kv.keys("dc1", "web/", "/", allowAll).run()).value, ["web/a", "web/b/", "web/c/"]);
  assert.deepEqual((await kv.keys("dc1", "", "/", allowAll).run()).value, ["other", "web/", "webx"]);
  assert.equal((await kv.keys("dc1", "", "", allowAll).run()).value.length, 6);
  await kv.deleteTree("dc1", "web/b/", allowAll);
  assert.equal((await kv.list("dc1", "web/", allowAll).run()).index, store.currentRevision());
  assert.equal((await kv.list("dc1", "none/", allowAll).run()).index, store.currentRevision());
});

test("ACLs: hidden keys read as missing and are filtered from lists; writes are denied", async (t) => {
  const { kv } = await setup(t);
  await kv.write("dc1", kvOperation("set", "public/a", { value: b64("a") }), allowAll);
  await kv.write("dc1", kvOperation("set", "secret/b", { value: b64("b") }), allowAll);
  const readPublic: Acl = {
    ...allowAll,
    management: false,
    keyRead: (key) => key.startsWith("public/"),
    keyWrite: () => false,
    keyWritePrefix: () => false,
  };
  assert.equal((await kv.get("dc1", "secret/b", readPublic).run()).value, undefined);
  assert.deepEqual(
    (await kv.list("dc1", "", readPublic).run()).value.map((e) => e.key),
    ["public/a"],
  );
  assert.deepEqual((await kv.keys("dc1", "", "", readPublic).run()).value, ["public/a"]);
  await assert.rejects(kv.write("dc1", kvOperation("set", "public/a"), readPublic), ForbiddenError);
  await assert.rejects(kv.deleteTree("dc1", "public/", readPublic), ForbiddenError);
});

test("transactions: several operations on one key, all at one index", async (t) => {
  const { kv, store } = await setup(t);
  const outcome = await kv.transact(
    "dc1",
    [
      kvOperation("set", "t/a", { value: b64("1") }),
      kvOperation("set", "t/b", { value: b64("2") }),
      kvOperation("set", "t/a", { value: b64("3") }),
      kvOperation("get", "t/a"),
      kvOperation("get-tree", "t/"),
    ],
    allowAll,
  );
  assert.ok(outcome.ok);
  const revision = store.currentRevision();
  assert.deepEqual(
    outcome.results.map((e) => [e.key, e.value, e.createIndex, e.modifyIndex]),
    [
      ["t/a", null, revision, revision],
      ["t/b", null, revision, revision],
      ["t/a", null, revision, revision],
      ["t/a", b64("3"), revision, revision],
      ["t/a", b64("3"), revision, revision],
      ["t/b", b64("2"), revision, revision],
    ],
  );
});

test("transactions: any failure reports every failed operation and writes nothing", async (t) => {
  const { kv, store } = await setup(t);
  await kv.write("dc1", kvOperation("set", "exists", { value: b64("x") }), allowAll);
  const revision = store.currentRevision();
  const outcome = await kv.transact(
    "dc1",
    [
      kvOperation("set", "new", { value: b64("y") }),
      kvOperation("check-not-exists", "exists"),
      kvOperation("get", "missing"),
      kvOperation("bogus" as "get", "k"),
    ],
    allowAll,
  );
  assert.ok(!outcome.ok);
  assert.deepEqual(
    outcome.errors.map((e) => [e.opIndex, e.what]),
    [
      [1, 'key "exists" exists'],
      [2, `key "missing" doesn't exist`],
      [3, 'unknown KV verb "bogus"'],
    ],
  );
  assert.equal(store.currentRevision(), revision);
  assert.equal((await kv.get("dc1", "new", allowAll).run()).value, undefined);
});

test("transactions: delete-tree then set under it, check-index, check-session, delete-cas", async (t) => {
  const { kv, store } = await setup(t);
  await store.put(sessionStoreKey("dc1", "s"), { name: "" });
  await kv.write("dc1", kvOperation("set", "d/1", { value: b64("1") }), allowAll);
  await kv.write("dc1", kvOperation("lock", "d/2", { session: "s" }), allowAll);
  const d1 = (await kv.get("dc1", "d/1", allowAll).run()).value!;
  const outcome = await kv.transact(
    "dc1",
    [
      kvOperation("check-index", "d/1", { index: d1.modifyIndex }),
      kvOperation("check-session", "d/2", { session: "s" }),
      kvOperation("delete-tree", "d/"),
      kvOperation("set", "d/3", { value: b64("3") }),
      kvOperation("delete-cas", "d/gone", { index: 7 }),
    ],
    allowAll,
  );
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.deepEqual(
    (await kv.list("dc1", "d/", allowAll).run()).value.map((e) => e.key),
    ["d/3"],
  );
});

test("32 concurrent CAS incrementers lose no update", async (t) => {
  const { kv } = await setup(t);
  await kv.write("dc1", kvOperation("set", "counter", { value: b64("0") }), allowAll);
  let successes = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = 0; i < 10; i++) {
        const { value } = await kv.get("dc1", "counter", allowAll).run();
        const next = Number(Buffer.from(value!.value!, "base64").toString()) + 1;
        const op = kvOperation("cas", "counter", { value: b64(String(next)), index: value!.modifyIndex });
        if (await kv.write("dc1", op, allowAll)) successes++;
      }
    }),
  );
  const final = (await kv.get("dc1", "counter", allowAll).run()).value!;
  assert.equal(Number(Buffer.from(final.value!, "base64").toString()), successes);
  assert.ok(successes >= 10);
});

test("200 concurrent plain writes to one key all succeed, in arrival order", async (t) => {
  const { kv } = await setup(t);
  const writes = Array.from({ length: 200 }, (_, i) =>
    kv.write("dc1", kvOperation("set", "hot", { value: b64(String(i)) }), allowAll),
  );
  assert.deepEqual(await Promise.all(writes), Array(200).fill(true));
  assert.equal((await kv.get("dc1", "hot", allowAll).run()).value?.value, b64("199"));
});

test("keys the store cannot keep are bad requests", async (t) => {
  const { kv } = await setup(t);
  await assert.rejects(kv.write("dc1", kvOperation("set", "a\0b"), allowAll), BadRequestError);
  await assert.rejects(kv.write("dc1", kvOperation("set", "x".repeat(5000)), allowAll), /too long/);
});
