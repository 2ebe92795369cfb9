import assert from "node:assert/strict";
import { test } from "node:test";
import { DEPLOY_KINDS } from "../../../src/core/deploys/deploy-kinds.ts";
import { deployHarness, GRID } from "./deploy-harness.ts";

test("a stack deploy removes dropped services, then deploys the listed ones in link order", async (t) => {
  const h = await deployHarness(t);
  await h.putStack("shop", ["db", "web"]);
  await h.putService({ name: "db", image: "postgres:16" }, { stack: "shop" });
  await h.putService({ name: "web", image: "nginx:1", instances: 2 }, { stack: "shop" });
  const first = await h.run(h.submit(DEPLOY_KINDS.stackDeploy, { stack: `${GRID}/shop` }));
  assert.equal(first.state, "done", first.result ?? "");
  const stages = (await h.events(first.id))
    .map((event) => event.stage)
    .filter((stage) => stage.startsWith("Deploying service"));
  assert.deepEqual([...new Set(stages)], ["Deploying service db", "Deploying service web"]);
  assert.deepEqual(
    (await h.results(first.id)).map((result) => result.service_id),
    [`${GRID}/shop/db`, `${GRID}/shop/web`],
  );
  assert.deepEqual(await h.placements(), ["shop.db-1@node-1", "shop.web-1@node-2", "shop.web-2@node-1"]);

  await h.putStack("shop", ["web"]);
  const second = await h.run(h.submit(DEPLOY_KINDS.stackDeploy, { stack: `${GRID}/shop` }));
  assert.equal(second.state, "done", second.result ?? "");
  assert.equal(await h.service(`${GRID}/shop/db`), undefined);
  assert.deepEqual(await h.placements(), ["shop.web-1@node-2", "shop.web-2@node-1"]);
});

test("a stack deploy stops at the first service that fails", async (t) => {
  const h = await deployHarness(t);
  await h.putStack("shop", ["db", "web"]);
  await h.putService({ name: "db", image: "postgres:16", affinity: ["label==disk=ssd"] }, { stack: "shop" });
  await h.putService({ name: "web", image: "nginx:1" }, { stack: "shop" });
  const op = await h.run(h.submit(DEPLOY_KINDS.stackDeploy, { stack: `${GRID}/shop` }));
  assert.equal(op.state, "errored");
  assert.match(op.error ?? "", /cannot place service .*shop\/db: .*affinity "label==disk=ssd"/);
  assert.deepEqual(await h.placements(), []);
});

test("a stack remove removes its services last-linked first, then the stack", async (t) => {
  const h = await deployHarness(t);
  await h.putStack("shop", ["db", "web"]);
  await h.putService({ name: "db", image: "postgres:16" }, { stack: "shop" });
  await h.putService({ name: "web", image: "nginx:1" }, { stack: "shop" });
  await h.run(h.submit(DEPLOY_KINDS.stackDeploy, { stack: `${GRID}/shop` }));
  const op = await h.run(h.submit(DEPLOY_KINDS.stackRemove, { stack: `${GRID}/shop` }));
  assert.equal(op.state, "done", op.result ?? "");
  const stages = (await h.events(op.id))
    .map((event) => event.stage)
    .filter((stage) => stage.startsWith("Removing service"));
  assert.deepEqual([...new Set(stages)], ["Removing service web", "Removing service db"]);
  assert.deepEqual(await h.placements(), []);
  assert.equal(await h.store.get(`/stacks/${GRID}/shop`), undefined);
  assert.equal((await h.store.range(`/services/${GRID}/shop/`, { prefix: true })).count, 0);
});
