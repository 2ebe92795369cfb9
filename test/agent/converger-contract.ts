import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { ContainerRuntime, RegistryAuth } from "../../src/agent/container-runtime.ts";
import type { ContainerEventReport, ConvergerOptions } from "../../src/agent/converger.ts";
import { Converger } from "../../src/agent/converger.ts";
import {
  type ActualInstance,
  BERTH_LABELS,
  type DesiredInstance,
  type DesiredInstanceInput,
  desiredInstanceSchema,
} from "../../src/protocol/instance-spec.ts";

/** What the contract needs from a runtime under test, beyond the interface itself. */
export interface ConvergerHarness {
  readonly runtime: ContainerRuntime;
  /** A local image with busybox's `sh` and `sleep`. */
  readonly image: string;
  /** Unique to the run: prefixes node and container names, so concurrent runs never meet. */
  readonly prefix: string;
  /** Labels every desired instance carries (the test run's, for cleanup). */
  readonly labels: Readonly<Record<string, string>>;
  /** An image present only in a registry that demands these credentials. */
  readonly privateImage: { readonly reference: string; readonly auth: RegistryAuth };
  /** Removes a container behind the converger's back, as an operator would. */
  removeByHand(containerId: string): Promise<void>;
  /** Ends a container's process with this exit code, as a crash would. */
  crash(containerId: string): Promise<number>;
  /** When the engine says the container last started. */
  startedAt(containerId: string): Promise<string | null>;
}

/** A process that exits at once on SIGTERM, so a graceful stop takes no grace period. */
export const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

/**
 * The converger's behaviour, run against any runtime: the simulated one in converger.test.ts,
 * Docker in converger-docker.test.ts. Each subtest uses its own node names.
 */
export async function runConvergerContract(t: TestContext, harness: ConvergerHarness): Promise<void> {
  const { runtime } = harness;
  let nodes = 0;
  const open = (t: TestContext, options: OpenOptions = {}): TestConverger =>
    openRecordingConverger(t, {
      runtime,
      grid: options.grid ?? "grid",
      nodeName: options.nodeName ?? `${harness.prefix}-node-${++nodes}`,
      credentialsFor: (image) => options.credentials?.[image] ?? null,
      stopTimeoutSeconds: 5,
    });
  const desired = (service: string, n: number, overrides: Partial<DesiredInstanceInput> = {}): DesiredInstance =>
    desiredInstanceSchema.parse({
      id: `grid/stack/${service}/${n}`,
      name: `${harness.prefix}-${service}-${n}`,
      grid: "grid",
      stack: "stack",
      service,
      instance_number: n,
      image: harness.image,
      cmd: SLEEPER,
      labels: { ...harness.labels, "com.example.tier": "web" },
      revision: "r1",
      ...overrides,
    });
  const nodeOf = (converger: Converger) => converger.nodeName;
  const containersOf = (converger: Converger, id: string) =>
    runtime.listContainers({
      [BERTH_LABELS.grid]: converger.grid,
      [BERTH_LABELS.node]: nodeOf(converger),
      [BERTH_LABELS.instance]: id,
    });

  await t.test("converges a desired set to running containers labelled for the node", async (t) => {
    const converger = open(t);
    const instances = [desired("web", 1), desired("web", 2, { stack: null, labels: { ...harness.labels } })];
    converger.setDesired(instances);
    await converger.settled();
    for (const instance of instances) {
      const actual = converger.actualInstances().find((a) => a.id === instance.id);
      assert.equal(actual?.state, "running", JSON.stringify(actual));
      assert.equal(actual.revision, "r1");
      assert.equal(actual.error, null);
      assert.ok(actual.ip, "a running container has an address");
      const details = await runtime.inspectContainer(actual.container_id!);
      assert.equal(details?.state, "running");
      assert.equal(details.name, instance.name);
      assert.equal(details.labels[BERTH_LABELS.grid], "grid");
      assert.equal(details.labels[BERTH_LABELS.stack], instance.stack ?? undefined);
      assert.equal(details.labels[BERTH_LABELS.service], "web");
      assert.equal(details.labels[BERTH_LABELS.instance], instance.id);
      assert.equal(details.labels[BERTH_LABELS.node], nodeOf(converger));
      assert.equal(details.labels[BERTH_LABELS.revision], "r1");
      for (const [key, value] of Object.entries(instance.labels)) assert.equal(details.labels[key], value);
    }
    assert.deepEqual(
      converger.reports.filter((r) => r.id === instances[0]!.id).map((r) => r.state),
      ["creating", "running"],
    );
  });

  await t.test("a desired label cannot move a container to another node or instance", async (t) => {
    const converger = open(t);
    const labels = { ...harness.labels, [BERTH_LABELS.node]: "elsewhere", [BERTH_LABELS.instance]: "x" };
    converger.setDesired([desired("spoof", 1, { labels })]);
    await converger.settled();
    const [container] = await containersOf(converger, "grid/stack/spoof/1");
    assert.ok(container, "the container carries the converger's own labels");
  });

  await t.test("recreates an instance whose revision changed and leaves the others alone", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("api", 1), desired("api", 2)]);
    await converger.settled();
    const before = idsById(converger);
    converger.setDesired([desired("api", 1, { revision: "r2", env: ["MODE=new"] }), desired("api", 2)]);
    await converger.settled();
    const after = idsById(converger);
    assert.notEqual(after.get("grid/stack/api/1"), before.get("grid/stack/api/1"));
    assert.equal(after.get("grid/stack/api/2"), before.get("grid/stack/api/2"));
    assert.equal(await runtime.inspectContainer(before.get("grid/stack/api/1")!), null, "old container removed");
    const containers = await containersOf(converger, "grid/stack/api/1");
    assert.deepEqual(
      containers.map((c) => c.labels[BERTH_LABELS.revision]),
      ["r2"],
    );
  });

  await t.test("removes a container whose instance left the set and reports it removed", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("gone", 1), desired("gone", 2)]);
    await converger.settled();
    const removedId = idsById(converger).get("grid/stack/gone/2")!;
    converger.setDesired([desired("gone", 1)]);
    await converger.settled();
    assert.equal(await runtime.inspectContainer(removedId), null);
    assert.deepEqual(
      converger.actualInstances().map((a) => a.id),
      ["grid/stack/gone/1"],
    );
    assert.equal(converger.reports.at(-1)?.state, "removed");
    assert.equal(converger.reports.at(-1)?.id, "grid/stack/gone/2");

    converger.removeDesired("grid/stack/gone/1");
    await converger.settled();
    assert.deepEqual(await runtime.listContainers({ [BERTH_LABELS.node]: nodeOf(converger) }), []);
  });

  await t.test("keeps a stopped instance created but not running, and starts it when desired", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("idle", 1, { state: "stopped" })]);
    await converger.settled();
    const stopped = converger.actualInstances()[0]!;
    assert.equal(stopped.state, "stopped");
    const details = await runtime.inspectContainer(stopped.container_id!);
    assert.equal(details?.state, "created");

    converger.upsertDesired(desired("idle", 1));
    await converger.settled();
    const running = converger.actualInstances()[0]!;
    assert.equal(running.state, "running");
    assert.equal(running.container_id, stopped.container_id, "same container, only started");

    converger.upsertDesired(desired("idle", 1, { state: "stopped" }));
    await converger.settled();
    const stoppedAgain = converger.actualInstances()[0]!;
    assert.equal(stoppedAgain.state, "stopped");
    assert.equal((await runtime.inspectContainer(stoppedAgain.container_id!))?.state, "exited");
  });

  await t.test("recreates a container removed by hand, on its destroy event", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("fragile", 1)]);
    await converger.settled();
    const first = converger.actualInstances()[0]!.container_id!;
    await harness.removeByHand(first);
    await waitFor(() => {
      const actual = converger.actualInstances()[0];
      return actual?.state === "running" && actual.container_id !== first;
    }, "a new container running");
    await converger.settled();
    assert.equal((await containersOf(converger, "grid/stack/fragile/1")).length, 1);
  });

  await t.test("recreates a container found missing on a pass", async (t) => {
    const first = open(t);
    first.setDesired([desired("lost", 1)]);
    await first.settled();
    const lost = first.actualInstances()[0]!.container_id!;
    // Removed while no agent watched: the next agent's first pass finds it missing.
    await first.close();
    await harness.removeByHand(lost);
    const second = open(t, { nodeName: nodeOf(first) });
    second.setDesired([desired("lost", 1)]);
    await second.settled();
    const actual = second.actualInstances()[0]!;
    assert.equal(actual.state, "running");
    assert.notEqual(actual.container_id, lost);
  });

  await t.test("starts again a container that died while it should run, keeping the container", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("phoenix", 1)]);
    await converger.settled();
    const before = converger.actualInstances()[0]!;
    await harness.crash(before.container_id!);
    await waitFor(() => {
      const actual = converger.actualInstances()[0];
      return actual?.state === "running" && actual.started_at !== before.started_at;
    }, "the container started again");
    const after = converger.actualInstances()[0]!;
    assert.equal(after.container_id, before.container_id, "the same container, started again");
    assert.ok(
      converger.reports.some((r) => r.state === "exited" || r.state === "running"),
      "the death was seen",
    );
  });

  await t.test("a container stopped on purpose stays stopped", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("resting", 1)]);
    await converger.settled();
    converger.upsertDesired(desired("resting", 1, { state: "stopped" }));
    await converger.settled();
    const stopped = converger.actualInstances()[0]!;
    assert.equal(stopped.state, "stopped");
    converger.resync();
    await converger.settled();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await converger.settled();
    assert.equal((await runtime.inspectContainer(stopped.container_id!))?.state, "exited");
    assert.equal(converger.actualInstances()[0]?.started_at, stopped.started_at, "never started again");
  });

  await t.test("restart_requested_at restarts a container that started before it, once", async (t) => {
    const converger = open(t);
    const before = new Date(Date.now() - 60_000).toISOString();
    converger.setDesired([desired("bounce", 1, { restart_requested_at: before })]);
    await converger.settled();
    const first = converger.actualInstances()[0]!;
    assert.equal(first.state, "running");
    assert.deepEqual(
      converger.reports.map((r) => r.state),
      ["creating", "running"],
      "a request older than the container restarts nothing",
    );

    await new Promise((resolve) => setTimeout(resolve, 20));
    const requested = new Date().toISOString();
    converger.upsertDesired(desired("bounce", 1, { restart_requested_at: requested }));
    await converger.settled();
    const restarted = converger.actualInstances()[0]!;
    assert.equal(restarted.state, "running");
    assert.equal(restarted.container_id, first.container_id, "restarted, not recreated");
    assert.ok(Date.parse(restarted.started_at!) >= Date.parse(requested), JSON.stringify(restarted));
    const startedAt = await harness.startedAt(restarted.container_id!);

    converger.resync();
    await converger.settled();
    assert.equal(await harness.startedAt(restarted.container_id!), startedAt, "only once");

    // A restarted agent compares with the engine's StartedAt: nothing to do.
    await converger.close();
    const next = open(t, { nodeName: nodeOf(converger) });
    next.setDesired([desired("bounce", 1, { restart_requested_at: requested })]);
    await next.settled();
    assert.equal(await harness.startedAt(restarted.container_id!), startedAt, "not again after an agent restart");
  });

  await t.test("takes over a name held by its instance's stale container of another node on the engine", async (t) => {
    const from = open(t);
    from.setDesired([desired("moved", 1)]);
    await from.settled();
    const stale = from.actualInstances()[0]!.container_id!;
    // The first node's agent goes away; the master moves the instance to a second node on the same engine.
    await from.close();
    const to = open(t);
    to.setDesired([desired("moved", 1)]);
    await to.settled();
    const actual = to.actualInstances()[0]!;
    assert.equal(actual.state, "running", JSON.stringify(actual));
    assert.notEqual(actual.container_id, stale);
    assert.equal(await runtime.inspectContainer(stale), null, "the stale container is gone");
    const details = await runtime.inspectContainer(actual.container_id!);
    assert.equal(details?.labels[BERTH_LABELS.node], nodeOf(to));

    // Another instance's container holding the name is not taken over: an error names it.
    const other = open(t);
    other.setDesired([desired("moved", 2, { name: `${harness.prefix}-moved-1` })]);
    await other.settled();
    const refused = other.actualInstances()[0]!;
    assert.equal(refused.state, "error");
    assert.match(refused.error ?? "", new RegExp(`already in use by container ${actual.container_id!.slice(0, 12)}`));
    assert.equal((await runtime.inspectContainer(actual.container_id!))?.state, "running");
  });

  await t.test("two nodes on one engine keep their own sets and never touch each other's", async (t) => {
    const a = open(t);
    const b = open(t);
    a.setDesired([desired("left", 1)]);
    b.setDesired([desired("right", 1)]);
    await Promise.all([a.settled(), b.settled()]);
    const right = b.actualInstances()[0]!.container_id!;
    a.setDesired([]);
    await Promise.all([a.settled(), b.settled()]);
    assert.deepEqual(await runtime.listContainers({ [BERTH_LABELS.node]: nodeOf(a) }), []);
    assert.equal((await runtime.inspectContainer(right))?.state, "running");
    assert.deepEqual(
      b.actualInstances().map((i) => i.id),
      ["grid/stack/right/1"],
    );
  });

  await t.test("a node of the same name in another grid shares the engine and never touches this one's", async (t) => {
    const here = open(t);
    const there = open(t, { grid: "other", nodeName: nodeOf(here) });
    here.setDesired([desired("mine", 1)]);
    there.setDesired([desired("theirs", 1, { id: "other/stack/theirs/1", grid: "other" })]);
    await Promise.all([here.settled(), there.settled()]);
    const theirs = there.actualInstances()[0]!.container_id!;
    const theirsStarted = await harness.startedAt(theirs);
    // Full passes of both now that both containers exist: each sees the other's on its node name.
    here.resync();
    there.resync();
    await Promise.all([here.settled(), there.settled()]);
    here.setDesired([]);
    await Promise.all([here.settled(), there.settled()]);
    assert.deepEqual(await containersOf(here, "grid/stack/mine/1"), []);
    assert.equal((await runtime.inspectContainer(theirs))?.state, "running");
    assert.equal(await harness.startedAt(theirs), theirsStarted, "never restarted");
    assert.deepEqual(
      there.actualInstances().map((i) => [i.id, i.state]),
      [["other/stack/theirs/1", "running"]],
    );
    assert.ok(
      here.events.every((e) => e.container_id !== theirs),
      "no events of the other grid's container",
    );
  });

  await t.test("a restarted agent adopts matching containers and restarts none of them", async (t) => {
    const first = open(t);
    const instances = [desired("kept", 1), desired("kept", 2)];
    first.setDesired(instances);
    await first.settled();
    await first.close();
    const before = idsById(first);
    const startedBefore = await Promise.all([...before.values()].map((id) => harness.startedAt(id!)));

    const second = new Converger({ runtime, grid: "grid", nodeName: nodeOf(first), stopTimeoutSeconds: 5 });
    const reports: ActualInstance[] = [];
    second.on("actual", (actual) => reports.push(actual));
    t.after(() => second.close());
    second.start();
    second.resync();
    await second.settled();
    assert.equal(
      (await runtime.listContainers({ [BERTH_LABELS.node]: nodeOf(first) })).length,
      2,
      "nothing removed before the desired set",
    );
    second.setDesired(instances);
    await second.settled();
    assert.deepEqual(idsById(second), before);
    assert.deepEqual(await Promise.all([...before.values()].map((id) => harness.startedAt(id!))), startedBefore);
    assert.deepEqual(
      reports.map((r) => r.state),
      ["running", "running"],
      "reported as found, never created",
    );
  });

  await t.test("coalesces a desired-set change that arrives mid-convergence", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("busy", 1)]);
    converger.setDesired([desired("busy", 1, { revision: "r2" })]);
    converger.upsertDesired(desired("busy", 1, { revision: "r3" }));
    await converger.settled();
    const containers = await containersOf(converger, "grid/stack/busy/1");
    assert.deepEqual(
      containers.map((c) => [c.labels[BERTH_LABELS.revision], c.state]),
      [["r3", "running"]],
    );
    assert.equal(converger.actualInstances()[0]?.revision, "r3");
  });

  await t.test("pulls with the registry credentials and reports a failed pull with its reason", async (t) => {
    const { reference, auth } = harness.privateImage;
    const anonymous = open(t);
    anonymous.setDesired([desired("private", 1, { image: reference })]);
    await anonymous.settled();
    const refused = anonymous.actualInstances()[0]!;
    assert.equal(refused.state, "error");
    assert.match(refused.error ?? "", /auth/i);

    const wrong = open(t, { credentials: { [reference]: { ...auth, password: "not-the-password" } } });
    wrong.setDesired([desired("private", 2, { image: reference })]);
    await wrong.settled();
    const unauthorized = wrong.actualInstances()[0]!;
    assert.equal(unauthorized.state, "error");
    assert.match(unauthorized.error ?? "", /unauthorized/);
    assert.ok(!unauthorized.error?.includes("not-the-password"), "the password is never in a report");
    assert.deepEqual(
      wrong.reports.map((r) => r.state),
      ["pulling", "error"],
    );

    const right = open(t, { credentials: { [reference]: auth } });
    right.setDesired([desired("private", 3, { image: reference })]);
    await right.settled();
    assert.equal(right.actualInstances()[0]?.state, "running", JSON.stringify(right.actualInstances()));
  });

  await t.test("forwards the node's container events, with the exit code of a die", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("crashy", 1)]);
    await converger.settled();
    const containerId = converger.actualInstances()[0]!.container_id!;
    const exitCode = await harness.crash(containerId);
    await waitFor(
      () => converger.events.some((e) => e.action === "die" && e.container_id === containerId),
      "a die event",
    );
    const die = converger.events.find((e) => e.action === "die" && e.container_id === containerId)!;
    assert.equal(die.instance, "grid/stack/crashy/1");
    assert.equal(die.exit_code, exitCode);
    assert.ok(converger.events.some((e) => e.action === "start" && e.container_id === containerId));
    assert.ok(
      converger.events.every((e) => e.instance === "grid/stack/crashy/1"),
      "only this node's containers",
    );
  });
}

interface OpenOptions {
  /** Image → the login its pull gets; none: anonymous pulls. */
  readonly credentials?: Readonly<Record<string, RegistryAuth>>;
  /** Default "grid". */
  readonly grid?: string;
  /** Default: a node name of its own. */
  readonly nodeName?: string;
}

export type TestConverger = Converger & { reports: ActualInstance[]; events: ContainerEventReport[] };

/** A started converger that keeps every report and event it emits; closed when the test ends. */
export function openRecordingConverger(t: TestContext, options: ConvergerOptions): TestConverger {
  const converger = new Converger(options);
  const reports: ActualInstance[] = [];
  const events: ContainerEventReport[] = [];
  converger.on("actual", (actual) => reports.push(actual));
  converger.on("event", (event) => events.push(event));
  converger.start();
  t.after(() => converger.close());
  return Object.assign(converger, { reports, events });
}

function idsById(converger: Converger): Map<string, string | null> {
  return new Map(
    converger
      .actualInstances()
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((a) => [a.id, a.container_id]),
  );
}

/** Polls a condition the engine makes true asynchronously (an event arriving). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
