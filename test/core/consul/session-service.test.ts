import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { EmbeddedStore } from "../../../src/backends/embedded/embedded-store.ts";
import { MANAGE_ALL_ACL } from "../../../src/core/acl/manage-all-acl.ts";
import { BlockingQueryService } from "../../../src/core/blocking/blocking-query-service.ts";
import type { CatalogLookup, CheckStatus } from "../../../src/core/consul/catalog-lookup.ts";
import { sessionTtlKey } from "../../../src/core/consul/consul-keys.ts";
import { kvOperation } from "../../../src/core/consul/kv-operation.ts";
import { KvService } from "../../../src/core/consul/kv-service.ts";
import { LockDelayTable } from "../../../src/core/consul/lock-delay-table.ts";
import { SessionService } from "../../../src/core/consul/session-service.ts";
import { OperationFailedError } from "../../../src/core/errors/operation-failed-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { openTestStore } from "../../support/test-store.ts";

const allowAll = MANAGE_ALL_ACL;

/** A catalog of two nodes: the master's "berth" and "web1", with checks as the test sets them. */
function fakeCatalog(): CatalogLookup & { checks: Map<string, CheckStatus> } {
  const checks = new Map<string, CheckStatus>([
    ["berth/serfHealth", "passing"],
    ["web1/serfHealth", "passing"],
    ["web1/disk", "warning"],
  ]);
  return {
    checks,
    localNodeName: () => "berth",
    nodeExists: (_dc, node) => node === "berth" || node === "web1",
    checkStatus: (_dc, node, check) => checks.get(`${node}/${check}`),
  };
}

async function setup(t: TestContext, store?: EmbeddedStore) {
  const opened = store ?? (await openTestStore(t));
  const blocking = new BlockingQueryService(opened);
  const lockDelays = new LockDelayTable();
  const catalog = fakeCatalog();
  const sessions = new SessionService(opened, lockDelays, catalog, { ttlMinMs: 500 });
  await sessions.start(["dc1"]);
  const kv = new KvService(opened, lockDelays);
  return { store: opened, sessions, kv, catalog, lockDelays, blocking };
}

test("create takes Consul's defaults: this node, serfHealth, 15 s lock delay, release, no TTL", async (t) => {
  const { sessions, store } = await setup(t);
  const id = await sessions.create("dc1", {});
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const { value, index } = await sessions.info("dc1", id).run();
  assert.deepEqual(value, {
    id,
    name: "",
    node: "berth",
    checks: ["serfHealth"],
    lockDelayNs: 15e9,
    behavior: "release",
    ttl: "",
    createIndex: store.currentRevision(),
    modifyIndex: store.currentRevision(),
  });
  assert.equal(index, store.currentRevision());
  assert.deepEqual(
    (await sessions.list("dc1").run()).value.map((s) => s.id),
    [id],
  );
  assert.deepEqual((await sessions.nodeSessions("dc1", "web1").run()).value, []);
});

test("create refuses what Consul refuses, with its messages", async (t) => {
  const { sessions } = await setup(t);
  const refusal = async (request: Parameters<SessionService["create"]>[1], message: string) => {
    await assert.rejects(sessions.create("dc1", request), (error) => {
      assert.ok(error instanceof OperationFailedError, String(error));
      assert.equal(error.message, message);
      return true;
    });
  };
  await refusal({ node: "nowhere" }, "Missing node registration");
  await refusal({ node: "" }, "Must provide Node");
  await refusal({ node: "web1", checks: ["serfHealth", "cpu"] }, "Missing check 'cpu' registration");
  await refusal({ behavior: "explode" }, "Invalid Behavior setting 'explode'");
  await refusal({ ttl: "100ms", ttlNs: 1e8 }, "Invalid Session TTL '100000000', must be between [500ms=24h0m0s]");
  await refusal(
    { ttl: "25h", ttlNs: 25 * 3600e9 },
    "Invalid Session TTL '90000000000000', must be between [500ms=24h0m0s]",
  );
  await refusal({ ttl: "soon" }, `Session TTL 'soon' invalid: time: invalid duration "soon"`);
});

test("a critical check refuses the session; going critical later invalidates it", async (t) => {
  const { sessions, catalog } = await setup(t);
  catalog.checks.set("web1/disk", "critical");
  await assert.rejects(sessions.create("dc1", { node: "web1", checks: ["disk"] }), /Check 'disk' is in critical state/);
  catalog.checks.set("web1/disk", "passing");
  const withDisk = await sessions.create("dc1", { node: "web1", checks: ["serfHealth", "disk"] });
  const without = await sessions.create("dc1", { node: "web1", checks: [] });
  const other = await sessions.create("dc1", {});
  await sessions.invalidateForCheck("dc1", "web1", "disk");
  assert.equal((await sessions.info("dc1", withDisk).run()).value, undefined);
  assert.ok((await sessions.info("dc1", without).run()).value);
  await sessions.invalidateForNode("dc1", "web1");
  assert.equal((await sessions.info("dc1", without).run()).value, undefined);
  assert.ok((await sessions.info("dc1", other).run()).value);
});

test("destroy releases held locks, keeps LockIndex, arms the lock delay; it is idempotent", async (t) => {
  const { sessions, kv } = await setup(t);
  const holder = await sessions.create("dc1", { lockDelayNs: 1e9 });
  const rival = await sessions.create("dc1", { lockDelayNs: 0 });
  assert.equal(
    await kv.write("dc1", kvOperation("lock", "leader", { value: "eA==", session: holder }), allowAll),
    true,
  );
  await sessions.destroy("dc1", holder);
  await sessions.destroy("dc1", holder);
  const entry = (await kv.get("dc1", "leader", allowAll).run()).value!;
  assert.equal(entry.session, "");
  assert.equal(entry.lockIndex, 1);
  assert.equal(entry.value, "eA==");
  assert.equal(await kv.write("dc1", kvOperation("lock", "leader", { session: rival }), allowAll), false);
  await sleep(1100);
  assert.equal(await kv.write("dc1", kvOperation("lock", "leader", { session: rival }), allowAll), true);
  assert.equal((await kv.get("dc1", "leader", allowAll).run()).value?.lockIndex, 2);
});

test("behavior delete removes the held keys on invalidation", async (t) => {
  const { sessions, kv } = await setup(t);
  const id = await sessions.create("dc1", { behavior: "delete", lockDelayNs: 0 });
  await kv.write("dc1", kvOperation("lock", "ephemeral/a", { session: id }), allowAll);
  await kv.write("dc1", kvOperation("set", "ephemeral/b"), allowAll);
  await sessions.destroy("dc1", id);
  assert.deepEqual(
    (await kv.list("dc1", "ephemeral/", allowAll).run()).value.map((e) => e.key),
    ["ephemeral/b"],
  );
});

for (const behavior of ["release", "delete"] as const) {
  test(`an unrenewed TTL session is invalidated after TTL×2 (behavior ${behavior}); renewing keeps it`, async (t) => {
    const { sessions, kv } = await setup(t);
    const lapsing = await sessions.create("dc1", { ttl: "500ms", ttlNs: 5e8, behavior, lockDelayNs: 0 });
    const renewed = await sessions.create("dc1", { ttl: "500ms", ttlNs: 5e8, behavior });
    await kv.write("dc1", kvOperation("lock", "held", { value: "dg==", session: lapsing }), allowAll);
    const started = Date.now();
    while (Date.now() - started < 1600) {
      assert.equal((await sessions.renew("dc1", renewed))?.id, renewed);
      await sleep(200);
    }
    assert.equal((await sessions.info("dc1", lapsing).run()).value, undefined);
    assert.ok((await sessions.info("dc1", renewed).run()).value);
    assert.equal(await sessions.renew("dc1", lapsing), undefined);
    const held = (await kv.get("dc1", "held", allowAll).run()).value;
    if (behavior === "delete") assert.equal(held, undefined);
    else assert.equal(held?.session, "");
  });
}

test("a TTL session whose lease ran out while the master was down is invalidated on start", async (t) => {
  const dir = await makeTempDir(t);
  const first = await openTestStore(t, dir);
  const { sessions, kv } = await setup(t, first);
  const id = await sessions.create("dc1", { ttl: "1s", ttlNs: 1e9 });
  await kv.write("dc1", kvOperation("lock", "k", { session: id }), allowAll);
  await first.close();
  await sleep(2300);
  const second = await openTestStore(t, dir);
  const restarted = await setup(t, second);
  await sleep(100);
  assert.equal(await second.get(sessionTtlKey("dc1", id)), undefined);
  assert.equal((await restarted.sessions.info("dc1", id).run()).value, undefined);
  assert.equal((await restarted.kv.get("dc1", "k", allowAll).run()).value?.session, "");
});

test("blocking info wakes when the session goes away", async (t) => {
  const { sessions, blocking } = await setup(t);
  const id = await sessions.create("dc1", {});
  const { index } = await sessions.info("dc1", id).run();
  const waiting = blocking.blockingQuery({ ...sessions.info("dc1", id), minIndex: index, waitMs: 5000 });
  await sleep(50);
  await sessions.destroy("dc1", id);
  const woke = await waiting;
  assert.equal(woke.value, undefined);
  assert.ok(woke.index > index);
});
