import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DEPLOY_KINDS } from "../../../src/core/deploys/deploy-kinds.ts";
import { deployHarness, GRID, until } from "./deploy-harness.ts";

const WEB = `${GRID}/null/web`;

test("a deploy places instances across nodes, waits for them, and records events, results and deployed_at", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "done", op.result ?? "");
  assert.deepEqual(await h.placements(), ["web-1@node-1", "web-2@node-2"]);
  const events = await h.events(op.id);
  const instanceEvents = events.filter((event) => event.stage === "Deploying service web");
  assert.deepEqual(
    instanceEvents.map((event) => `${event.task} ${event.state} ${event.index}/${event.total}`),
    [
      "web-1 on node-1 started 1/2",
      "web-1 on node-1 finished 1/2",
      "web-2 on node-2 started 2/2",
      "web-2 on node-2 finished 2/2",
    ],
  );
  assert.ok(instanceEvents.every((event) => event.tags[0] === "web"));
  const [result] = await h.results(op.id);
  assert.equal(result?.service_id, WEB);
  assert.deepEqual(
    result?.instance_deploys.map((deploy) => `${deploy.container}@${deploy.node}:${deploy.state}`),
    ["web-1@node-1:success", "web-2@node-2:success"],
  );
  const service = await h.service(WEB);
  assert.equal(service?.state, "running");
  assert.ok(service?.deployed_at);
});

test("an unchanged service keeps its revisions; a forced deploy recreates every instance", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  await h.run(h.deploy(WEB));
  const before = await h.desired();
  const received = () => h.agent("node-1").received.length + h.agent("node-2").received.length;
  const writes = received();

  const again = await h.run(h.deploy(WEB));
  assert.equal(again.state, "done");
  // Rewritten only for the new pull request, with the same revisions.
  assert.equal(received(), writes + 2);
  assert.deepEqual(
    (await h.desired()).map((entry) => entry.instance.revision),
    before.map((entry) => entry.instance.revision),
  );

  const forced = await h.run(h.deploy(WEB, true));
  assert.equal(forced.state, "done", forced.result ?? "");
  const after = await h.desired();
  assert.equal(received(), writes + 4);
  for (const entry of after) {
    const old = before.find((candidate) => candidate.instance.id === entry.instance.id);
    assert.notEqual(entry.instance.revision, old?.instance.revision);
  }
  assert.equal((await h.service(WEB))?.deploy_generation, 1);
});

test("a redeploy of an unchanged service stamps a newer pull request on every instance, without waiting", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "app:latest", instances: 2 });
  const first = await h.run(h.deploy(WEB));
  assert.equal(first.state, "done", first.result ?? "");
  const before = await h.desired();
  const stamped = (await h.service(WEB))?.pull_requested_at;
  assert.ok(stamped);
  assert.ok(before.every((entry) => entry.instance.pull_requested_at === stamped));

  await sleep(5);
  // The agents stay silent: a deploy that waited for them would time out.
  for (const node of ["node-1", "node-2"]) h.agent(node).react = () => null;
  const started = Date.now();
  const again = await h.run(h.deploy(WEB));
  assert.equal(again.state, "done", again.result ?? "");
  assert.ok(Date.now() - started < 4000, "the deploy did not wait for the agents");
  const restamped = (await h.service(WEB))?.pull_requested_at;
  assert.ok(restamped && Date.parse(restamped) > Date.parse(stamped));
  const after = await h.desired();
  assert.equal(after.length, 2);
  for (const entry of after) {
    const old = before.find((candidate) => candidate.instance.id === entry.instance.id);
    assert.equal(entry.instance.revision, old?.instance.revision);
    assert.equal(entry.instance.pull_requested_at, restamped);
    assert.deepEqual({ ...entry.instance, pull_requested_at: null }, { ...old?.instance, pull_requested_at: null });
  }
});

test("a rolling update keeps at most floor(total × (1 − min_health)) instances in flight", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 4, deploy_opts: { min_health: 0.5 } });
  await h.run(h.deploy(WEB));
  const agents = [h.agent("node-1"), h.agent("node-2")];
  for (const agent of agents) agent.hold = true;
  await h.putService({ name: "web", image: "nginx:2", instances: 4, deploy_opts: { min_health: 0.5 } });
  const revisionOf = async () => (await h.desired()).map((entry) => entry.instance.revision);
  const oldRevision = (await revisionOf())[0];
  const op = await h.deploy(WEB);
  const updated = async () => (await revisionOf()).filter((revision) => revision !== oldRevision).length;
  let released = 0;
  while (released < 4) {
    await until(h.store, async () => (await updated()) >= Math.min(4, released + 2));
    await sleep(50);
    assert.ok(
      (await updated()) <= released + 2,
      `at most 2 in flight (updated ${await updated()}, confirmed ${released})`,
    );
    const agent = agents.find((candidate) => candidate.heldCount > 0);
    assert.ok(agent);
    await agent.release(1);
    released++;
  }
  const finished = await h.finished(op.id);
  assert.equal(finished.state, "done", finished.result ?? "");
});

test("scaling up adds instances and scaling down removes the highest numbers", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  await h.run(h.deploy(WEB));
  const up = await h.run(h.submit(DEPLOY_KINDS.serviceScale, { service: WEB, instances: 4 }));
  assert.equal(up.state, "done", up.result ?? "");
  assert.equal((await h.placements()).length, 4);
  const down = await h.run(h.submit(DEPLOY_KINDS.serviceScale, { service: WEB, instances: 1 }));
  assert.equal(down.state, "done", down.result ?? "");
  assert.deepEqual(await h.placements(), ["web-1@node-1"]);
  assert.equal((await h.service(WEB))?.spec.instances, 1);
  const removed = (await h.events(down.id)).filter((event) => event.task.endsWith(": removed"));
  assert.deepEqual(removed.map((event) => event.task).sort(), [
    "web-2 on node-2: removed",
    "web-3 on node-1: removed",
    "web-4 on node-2: removed",
  ]);
});

test("a scale whose deploy fails is undone: the count goes back and the added instances leave", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 1 });
  await h.run(h.deploy(WEB));
  h.agent("node-2").react = () => ({ state: "error", error: "no space left on device" });
  const op = await h.run(h.submit(DEPLOY_KINDS.serviceScale, { service: WEB, instances: 2 }));
  assert.equal(op.state, "errored");
  assert.match(op.error ?? "", /instance web-2 on node node-2: no space left on device/);
  assert.match(op.result ?? "", /undone: Scale web to 2/);
  assert.equal((await h.service(WEB))?.spec.instances, 1);
  assert.deepEqual(await h.placements(), ["web-1@node-1"]);
});

test("draining a node moves its stateless instances, leaving the old node in the same write", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  await h.run(h.deploy(WEB));
  await h.drain("node-2");
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "done", op.result ?? "");
  assert.deepEqual(await h.placements(), ["web-1@node-1", "web-2@node-1"]);
});

test("a stateful instance whose node is offline waits in place, and the deploy still succeeds", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "db", image: "postgres:15", instances: 2, stateful: true });
  await h.run(h.deploy(`${GRID}/null/db`));
  await h.disconnect("node-2");
  await h.putService({ name: "db", image: "postgres:16", instances: 2, stateful: true });
  const op = await h.run(h.deploy(`${GRID}/null/db`));
  assert.equal(op.state, "done", op.result ?? "");
  assert.deepEqual(await h.placements(), ["db-1@node-1", "db-2@node-2"]);
  const waiting = (await h.events(op.id)).find((event) => event.task.startsWith("db-2 on node-2: waiting"));
  assert.ok(waiting, "the events report the waiting instance");
  const [result] = await h.results(op.id);
  assert.match(result?.instance_deploys.find((deploy) => deploy.instance_number === 2)?.error ?? "", /waiting/);
  const db2 = (await h.desired()).find((entry) => entry.instance.instance_number === 2);
  assert.equal(db2?.instance.image, "postgres:16", "the new revision is there for when the node returns");
});

test("an instance no node can take fails the deploy naming the filter, before anything is written", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 1, affinity: ["node==elsewhere"] });
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "errored");
  assert.match(op.error ?? "", /affinity "node==elsewhere" \(0 nodes\)/);
  assert.deepEqual(await h.placements(), []);
});

test("a pull error fails the deploy naming the instance, node and reason", async (t) => {
  const h = await deployHarness(t);
  h.agent("node-1").react = () => ({ state: "error", error: "pull access denied for nginx:nope", revision: null });
  await h.putService({ name: "web", image: "nginx:nope", instances: 1 });
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "errored");
  assert.equal(op.error, "instance web-1 on node node-1: pull access denied for nginx:nope");
  const failed = (await h.events(op.id)).find((event) => event.state === "failed" && event.tags[0] === "web");
  assert.equal(failed?.data?.error, "instance web-1 on node node-1: pull access denied for nginx:nope");
  const [result] = await h.results(op.id);
  assert.equal(result?.instance_deploys[0]?.state, "error");
});

test("an exited container, a failed hook, an offline node or the deadline each fail precisely", async (t) => {
  const h = await deployHarness(t, { instanceTimeoutMs: 300 });
  h.agent("node-1").react = (instance) => ({ state: "exited", exit_code: 3, revision: instance.revision });
  await h.putService({ name: "a", image: "busybox", instances: 1, affinity: ["node==node-1"] });
  assert.equal((await h.run(h.deploy(`${GRID}/null/a`))).error, "instance a-1 on node node-1: exited with code 3");

  h.agent("node-1").react = (instance) => ({
    state: "running",
    revision: instance.revision,
    hook_error: "migrate: exit 1",
  });
  await h.putService({
    name: "b",
    image: "busybox",
    affinity: ["node==node-1"],
    hooks: { post_start: [{ name: "migrate", cmd: "false" }] },
  });
  assert.equal(
    (await h.run(h.deploy(`${GRID}/null/b`))).error,
    "instance b-1 on node node-1: post_start hook failed: migrate: exit 1",
  );

  h.agent("node-1").react = (instance) => ({ state: "running", revision: instance.revision, port_ready: false });
  await h.putService({ name: "c", image: "busybox", affinity: ["node==node-1"], deploy_opts: { wait_for_port: 8080 } });
  assert.equal(
    (await h.run(h.deploy(`${GRID}/null/c`))).error,
    "instance c-1 on node node-1: gave up after 0 s waiting for port 8080 to accept connections",
  );

  h.agent("node-2").react = () => null;
  await h.putService({ name: "d", image: "busybox", affinity: ["node==node-2"] });
  const op = await h.deploy(`${GRID}/null/d`);
  await until(h.store, async () => h.agent("node-2").received.some((id) => id.includes("/d/")));
  await h.disconnect("node-2");
  assert.equal((await h.finished(op.id)).error, "instance d-1 on node node-2: the node went offline");
});

test("a referenced secret that does not exist fails the deploy naming it", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", secrets: [{ secret: "DB_PASSWORD", name: "PASSWORD" }] });
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "errored");
  assert.match(op.error ?? "", /secret DB_PASSWORD, which does not exist in grid/);
});

test("cancel mid-deploy stops new updates and the events and result say which instances were written", async (t) => {
  const h = await deployHarness(t, { nodes: [{ name: "node-1" }] });
  await h.putService({ name: "web", image: "nginx:1", instances: 3, deploy_opts: { min_health: 0.9 } });
  await h.run(h.deploy(WEB));
  h.agent("node-1").hold = true;
  await h.putService({ name: "web", image: "nginx:2", instances: 3, deploy_opts: { min_health: 0.9 } });
  const op = await h.deploy(WEB);
  await until(h.store, async () => h.agent("node-1").heldCount === 1);
  await h.operations.cancel(op.id);
  const finished = await h.finished(op.id);
  assert.equal(finished.state, "cancelled");
  const failed = (await h.events(op.id)).filter((event) => event.tags[0] === "web" && event.state === "failed");
  assert.deepEqual(
    failed.map((event) => `${event.task}: ${event.data?.error}`),
    ["web-1 on node-1: written to its node, not confirmed: cancelled"],
  );
  const [result] = await h.results(op.id);
  assert.deepEqual(
    result?.instance_deploys.map((deploy) => `${deploy.container} ${deploy.state} ${deploy.error}`),
    [
      "web-1 ongoing written to its node, not confirmed: cancelled",
      "web-2 created not updated: cancelled",
      "web-3 created not updated: cancelled",
    ],
  );
  const images = (await h.desired()).map((entry) => `${entry.instance.name}:${entry.instance.image}`).sort();
  assert.deepEqual(images, ["web-1:nginx:2", "web-2:nginx:1", "web-3:nginx:1"]);
});

test("stop and start change the desired state without a new revision; restart waits for a new start", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  await h.run(h.deploy(WEB));
  const revision = (await h.desired())[0]?.instance.revision;
  const stop = await h.run(h.submit(DEPLOY_KINDS.serviceStop, { service: WEB }));
  assert.equal(stop.state, "done", stop.result ?? "");
  assert.equal((await h.service(WEB))?.state, "stopped");
  assert.ok(
    (await h.desired()).every((entry) => entry.instance.state === "stopped" && entry.instance.revision === revision),
  );
  const start = await h.run(h.submit(DEPLOY_KINDS.serviceStart, { service: WEB }));
  assert.equal(start.state, "done", start.result ?? "");
  assert.equal((await h.service(WEB))?.state, "running");
  const restart = await h.run(h.submit(DEPLOY_KINDS.serviceRestart, { service: WEB }));
  assert.equal(restart.state, "done", restart.result ?? "");
  const requested = (await h.service(WEB))?.restart_requested_at;
  assert.ok(requested);
  assert.ok((await h.desired()).every((entry) => entry.instance.restart_requested_at === requested));
  assert.ok((await h.desired()).every((entry) => entry.instance.revision === revision));
});

test("remove takes the instances off, waits for their containers to go, then deletes the record", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "web", image: "nginx:1", instances: 2 });
  await h.run(h.deploy(WEB));
  const op = await h.run(h.submit(DEPLOY_KINDS.serviceRemove, { service: WEB }));
  assert.equal(op.state, "done", op.result ?? "");
  assert.deepEqual(await h.placements(), []);
  assert.equal(await h.service(WEB), undefined);
  const { kvs } = await h.store.range(`/instance-states/${GRID}/`, { prefix: true });
  assert.equal(kvs.length, 0);
});

test("a service's health check reaches its instances, with its unhealthy threshold beside it", async (t) => {
  const h = await deployHarness(t);
  await h.putService({
    name: "web",
    image: "nginx:1",
    instances: 1,
    health_check: { protocol: "tcp", port: 80, interval: 5, unhealthy_threshold: 5 },
  });
  const op = await h.run(h.deploy(WEB));
  assert.equal(op.state, "done", op.result ?? "");
  const [entry] = await h.desired();
  assert.deepEqual(entry?.instance.health_check, {
    protocol: "tcp",
    port: 80,
    uri: "/",
    interval: 5,
    initial_delay: 10,
    timeout: 10,
  });
  assert.equal(entry?.instance.unhealthy_threshold, 5);
});

test("volumes_from names the stack's instance of another service, %s standing for the instance number", async (t) => {
  const h = await deployHarness(t);
  await h.putService(
    { name: "web", image: "nginx:1", instances: 2, volumes_from: ["data-%s", "logs-1"] },
    { stack: "shop" },
  );
  const op = await h.run(h.deploy(`${GRID}/shop/web`));
  assert.equal(op.state, "done", op.result ?? "");
  const byNumber = (await h.desired()).map((entry) => [entry.instance.instance_number, entry.instance.volumes_from]);
  assert.deepEqual(
    byNumber.sort(([a], [b]) => Number(a) - Number(b)),
    [
      [1, ["shop.data-1", "shop.logs-1"]],
      [2, ["shop.data-2", "shop.logs-1"]],
    ],
  );
});

test("deploys planned side by side do not take one host port on one node; a finished rollout frees what it held", async (t) => {
  const h = await deployHarness(t);
  await h.putService({ name: "a", image: "nginx:1", instances: 1, ports: ["8080:80"] });
  await h.putService({ name: "b", image: "nginx:1", instances: 1, ports: ["8080:80"] });
  const planA = await h.services.plan(await h.services.begin(`${GRID}/null/a`, false));
  const planB = await h.services.plan(await h.services.begin(`${GRID}/null/b`, false));
  assert.equal(planA.updates.length, 1);
  assert.equal(planB.updates.length, 1);
  assert.notEqual(planA.updates[0]?.node, planB.updates[0]?.node, "A's planned port is taken into account");

  // A plan that never rolls out (its operation cancelled first) stops holding once released.
  h.services.release(planA.service);
  const planBAgain = await h.services.plan(await h.services.begin(`${GRID}/null/b`, false));
  assert.equal(planBAgain.updates[0]?.node, planA.updates[0]?.node, "with A gone, B takes the first node again");
});
