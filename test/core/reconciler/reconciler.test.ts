import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DEPLOY_KINDS, MASTER_USER, type ServiceDeployParams } from "../../../src/core/deploys/deploy-kinds.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import type { NodeLinkLease } from "../../../src/core/nodes/node-link-service.ts";
import { nodeKey, type StoredNode } from "../../../src/core/nodes/node-record.ts";
import type { OperationRecord } from "../../../src/core/operations/operation-record.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { Reconciler } from "../../../src/core/reconciler/reconciler.ts";
import { type StoredService, serviceId, serviceKey } from "../../../src/core/services/service-record.ts";
import { type ServiceSpecInput, serviceSpec } from "../../../src/core/stacks/service-spec.ts";
import type { JsonValue } from "../../../src/store/state-store.ts";
import { agentHello, desiredInstance, nodeCore, nodeFacts } from "../../support/node-fixtures.ts";

const GRID = "default";
const STACK = "shop";

/** The services of the tests: one per strategy, a stateful one and one that is not running. */
const SERVICES: { spec: ServiceSpecInput; state?: StoredService["state"] }[] = [
  { spec: { name: "web", image: "busybox", strategy: "ha" } },
  { spec: { name: "worker", image: "busybox", strategy: "random" } },
  { spec: { name: "agent", image: "busybox", strategy: "daemon" } },
  { spec: { name: "db", image: "busybox", strategy: "ha", stateful: true } },
  { spec: { name: "idle", image: "busybox", strategy: "ha" }, state: "stopped" },
];

async function setUp(t: TestContext, options: { reconnectAllowanceSeconds?: number } = {}) {
  const core = await nodeCore(t);
  const { store, grid, nodeLinks, nodeInstances } = core;
  const operations = new OperationService(store);
  const links = new Map<string, NodeLinkLease>();
  let engine = 0;

  for (const { spec, state } of SERVICES) {
    const parsed = serviceSpec.parse(spec);
    const now = new Date().toISOString();
    const service: StoredService = {
      id: serviceId(GRID, STACK, parsed.name),
      grid: GRID,
      stack: STACK,
      name: parsed.name,
      spec: parsed,
      state: state ?? "running",
      created_at: now,
      updated_at: now,
      deployed_at: now,
      deploy_generation: 0,
      restart_requested_at: null,
      oneshot_done: {},
    };
    await store.put(serviceKey(GRID, STACK, parsed.name), service as unknown as JsonValue);
  }

  const reconciler = new Reconciler(store, operations, {
    grace: { haSeconds: 2, randomSeconds: 1 },
    reconnectAllowanceSeconds: options.reconnectAllowanceSeconds ?? 0,
    onError: (error) => assert.fail(error as Error),
  });
  t.after(() => reconciler.stop());

  return {
    ...core,
    operations,
    reconciler,
    /** Joins the node (on an engine of its own) and connects its agent. */
    async connect(name: string) {
      const facts = nodeFacts({ node_id: `ENGINE:${++engine}` });
      if (!(await nodeLinks.exists(GRID, name))) await nodeLinks.join(grid, agentHello(name, { facts }));
      links.set(name, await nodeLinks.connect(GRID, name, facts, "0.1.0"));
    },
    async disconnect(name: string) {
      const link = links.get(name);
      assert.ok(link, `${name} is not connected`);
      await nodeLinks.disconnect(link);
      links.delete(name);
    },
    /** Gives the node one instance of each of the services (as the scheduler would have placed them). */
    async place(node: string, names = SERVICES.map(({ spec }) => spec.name), number = 1) {
      await nodeInstances.setDesired(
        GRID,
        node,
        names.map((service) =>
          desiredInstance(number, {
            id: `${GRID}/${STACK}/${service}/${number}`,
            name: `${STACK}.${service}-${number}`,
            service,
          }),
        ),
      );
    },
    /** The reconciler's deploys so far: service name → reason, in submission order. */
    async deploys(): Promise<[string, string][]> {
      const all = await operations.list({ includeInternal: true });
      return all
        .filter((op) => op.kind === DEPLOY_KINDS.serviceDeploy)
        .reverse()
        .map((op) => {
          const params = op.params as ServiceDeployParams;
          return [params.service.split("/")[2] as string, params.reason ?? ""];
        });
    },
    async deployRecords(): Promise<OperationRecord[]> {
      return (await operations.list({ includeInternal: true })).filter((op) => op.kind === DEPLOY_KINDS.serviceDeploy);
    },
  };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

async function waitForDeploys(setup: Setup, count: number, timeoutMs = 5000): Promise<[string, string][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deploys = await setup.deploys();
    if (deploys.length >= count) return deploys;
    if (Date.now() > deadline) assert.fail(`expected ${count} deploys, got ${JSON.stringify(deploys)}`);
    await sleep(20);
  }
}

describe("reconciler", () => {
  it("deploys a node's random services past their grace and its ha services past theirs; never daemon, stateful or stopped ones", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.connect("n2");
    await setup.place("n1");
    await setup.reconciler.start();

    const offlineAt = Date.now();
    await setup.disconnect("n1");
    await sleep(600);
    assert.deepEqual(await setup.deploys(), [], "nothing moves before the grace period");

    const [random] = await waitForDeploys(setup, 1);
    const randomAfter = Date.now() - offlineAt;
    assert.deepEqual(random, ["worker", "node n1 offline for 1s"]);
    assert.ok(randomAfter >= 1000 && randomAfter < 1900, `random moved after ${randomAfter} ms`);
    const deploys = await waitForDeploys(setup, 2);
    assert.ok(Date.now() - offlineAt >= 2000);
    assert.deepEqual(deploys[1], ["web", "node n1 offline for 2s"]);

    await sleep(300);
    assert.equal((await setup.deploys()).length, 2, "agent (daemon), db (stateful) and idle (stopped) stay");
    const [web] = (await setup.deployRecords()).filter((op) =>
      (op.params as ServiceDeployParams).service.endsWith("/web"),
    );
    assert.ok(web);
    assert.equal(web.user, MASTER_USER);
    assert.equal(web.internal, true);
    assert.equal(web.target, `stack/${STACK}`);
    assert.equal(web.grid, GRID);
    assert.equal(web.state, "queued");
    assert.deepEqual(web.params, { service: `${GRID}/${STACK}/web`, force: false, reason: "node n1 offline for 2s" });
  });

  it("cancels the reschedule when the node comes back within its grace", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.place("n1");
    await setup.reconciler.start();
    await setup.disconnect("n1");
    await sleep(500);
    await setup.connect("n1");
    await sleep(2200);
    assert.deepEqual(await setup.deploys(), []);
  });

  it("counts a node already offline when it starts from its last_seen_at, after the reconnect allowance", async (t) => {
    const setup = await setUp(t, { reconnectAllowanceSeconds: 0 });
    await setup.connect("gone");
    await setup.place("gone", ["web"]);
    await setup.disconnect("gone");
    // Last seen ten minutes ago: both grace periods are long over.
    const kv = await setup.store.get(nodeKey(GRID, "gone"));
    const node = kv?.value as StoredNode;
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    await setup.store.put(nodeKey(GRID, "gone"), { ...node, last_seen_at: tenMinutesAgo } as JsonValue);
    await setup.connect("fresh");
    await setup.place("fresh", ["worker"]);
    await setup.disconnect("fresh");

    const startedAt = Date.now();
    await setup.reconciler.start();
    const [first] = await waitForDeploys(setup, 1);
    assert.ok(Date.now() - startedAt < 500, "a node offline long before is rescheduled at once");
    assert.deepEqual(first, ["web", "node gone offline for 600s"]);
    const deploys = await waitForDeploys(setup, 2);
    assert.deepEqual(deploys[1], ["worker", "node fresh offline for 1s"]);
  });

  it("gives nodes offline at start the reconnect allowance first", async (t) => {
    const setup = await setUp(t, { reconnectAllowanceSeconds: 1 });
    await setup.connect("gone");
    await setup.place("gone", ["web"]);
    await setup.disconnect("gone");
    const node = (await setup.store.get(nodeKey(GRID, "gone")))?.value as StoredNode;
    await setup.store.put(nodeKey(GRID, "gone"), {
      ...node,
      last_seen_at: new Date(Date.now() - 600_000).toISOString(),
    } as JsonValue);
    await setup.reconciler.start();
    await sleep(500);
    assert.deepEqual(await setup.deploys(), []);
    await waitForDeploys(setup, 1);
  });

  it("does not submit a second deploy while one for the same service and cause is pending", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.place("n1", ["worker", "agent"]);
    await setup.reconciler.start();
    await setup.disconnect("n1");
    await waitForDeploys(setup, 1);
    // Back and gone again while the first deploy is still queued: no second one.
    await setup.connect("n1");
    await setup.disconnect("n1");
    await sleep(1500);
    assert.deepEqual(await setup.deploys(), [["worker", "node n1 offline for 1s"]]);
  });

  it("deploys a drained node's services at once, stateful ones excepted; a bad availability is a 422 field", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.connect("n2");
    await setup.place("n1");
    await setup.reconciler.start();

    await assert.rejects(
      setup.nodes.update(setup.admin, GRID, "n1", { availability: "sideways" }),
      (error: unknown) => error instanceof ValidationError && "availability" in error.fields,
    );
    const view = await setup.nodes.update(setup.admin, GRID, "n1", { availability: "drain" });
    assert.equal(view.availability, "drain");
    const deploys = await waitForDeploys(setup, 3, 1000);
    assert.deepEqual(deploys.toSorted(), [
      ["agent", "node n1 drained"],
      ["web", "node n1 drained"],
      ["worker", "node n1 drained"],
    ]);
    await sleep(200);
    assert.equal((await setup.deploys()).length, 3, "db (stateful) waits on its node; idle is stopped");
    // Draining again changes nothing.
    await setup.nodes.update(setup.admin, GRID, "n1", { availability: "drain" });
    await sleep(200);
    assert.equal((await setup.deploys()).length, 3);
  });

  it("deploys the grid's daemon services onto a node that connects, unless it already has their instance", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.place("n1");
    await setup.reconciler.start();
    await setup.connect("n2");
    assert.deepEqual(await waitForDeploys(setup, 1), [["agent", "node n2 connected"]]);
    // n1 reconnecting already runs the daemon.
    await setup.disconnect("n1");
    await setup.connect("n1");
    await sleep(300);
    assert.equal((await setup.deploys()).length, 1);
  });

  it("deploys the services a removed node had instances of, stateful ones included", async (t) => {
    const setup = await setUp(t);
    await setup.connect("n1");
    await setup.place("n1");
    await setup.reconciler.start();
    await setup.nodes.remove(setup.admin, GRID, "n1");
    const deploys = await waitForDeploys(setup, 3, 1000);
    assert.deepEqual(deploys.toSorted(), [
      ["db", "node n1 removed"],
      ["web", "node n1 removed"],
      ["worker", "node n1 removed"],
    ]);
    // Its offline timers went with it.
    await sleep(2200);
    assert.equal((await setup.deploys()).length, 3);
  });
});
