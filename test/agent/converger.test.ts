import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerRuntime } from "../../src/agent/container-runtime.ts";
import { Converger } from "../../src/agent/converger.ts";
import { SimulatedRuntime } from "../../src/agent/simulated-runtime.ts";
import { BERTH_LABELS, desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { runConvergerContract, SLEEPER, waitFor } from "./converger-contract.ts";

const IMAGE = "berth-test/busybox:latest";
const PRIVATE_IMAGE = "registry.example.test:5000/team/app:1.0";
const AUTH = { username: "alice", password: "wonderland", serveraddress: "registry.example.test:5000" };

function simulated(): SimulatedRuntime {
  return new SimulatedRuntime({
    localImages: [IMAGE],
    registry: [{ reference: PRIVATE_IMAGE, credentials: { username: AUTH.username, password: AUTH.password } }],
  });
}

test("converger on the simulated runtime", async (t) => {
  const runtime = simulated();
  await runConvergerContract(t, {
    runtime,
    image: IMAGE,
    prefix: "sim",
    labels: {},
    privateImage: { reference: PRIVATE_IMAGE, auth: AUTH },
    removeByHand: (id) => runtime.removeContainer(id),
    crash: async (id) => {
      runtime.simulateExit(id, 139);
      return 139;
    },
    startedAt: async (id) => (await runtime.inspectContainer(id))?.startedAt ?? null,
  });
});

/** Wraps a runtime and fails the test if two operations ever touch one container at once. */
function exclusiveRuntime(inner: ContainerRuntime): {
  runtime: ContainerRuntime;
  overlaps: string[];
  maxParallel(): number;
} {
  const busy = new Set<string>();
  const overlaps: string[] = [];
  let active = 0;
  let peak = 0;
  const guard =
    <A extends unknown[], R>(name: string, key: (...args: A) => string, operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const k = key(...args);
      if (busy.has(k)) overlaps.push(`${name} ${k}`);
      busy.add(k);
      peak = Math.max(peak, ++active);
      try {
        return await operation(...args);
      } finally {
        busy.delete(k);
        active--;
      }
    };
  const byId = (id: string) => id;
  const runtime: ContainerRuntime = {
    info: () => inner.info(),
    hasImage: (image) => inner.hasImage(image),
    imageId: (image) => inner.imageId(image),
    pullImage: (image, auth) => inner.pullImage(image, auth),
    listContainers: (labels) => inner.listContainers(labels),
    inspectContainer: (id) => inner.inspectContainer(id),
    createContainer: guard(
      "create",
      (spec) => spec.name,
      (spec) => inner.createContainer(spec),
    ),
    startContainer: guard("start", byId, (id) => inner.startContainer(id)),
    stopContainer: guard(
      "stop",
      (id: string, _timeout: number) => id,
      (id, timeout) => inner.stopContainer(id, timeout),
    ),
    removeContainer: guard("remove", byId, (id) => inner.removeContainer(id)),
    // Hooks exec beside the converger's work on a container (never needed here): not guarded.
    exec: (id, argv, timeout) => inner.exec(id, argv, timeout),
    watchEvents: (labels, handlers) => inner.watchEvents(labels, handlers),
  };
  return { runtime, overlaps, maxParallel: () => peak };
}

const instance = (n: number, revision: string) =>
  desiredInstanceSchema.parse({
    id: `g/s/load/${n}`,
    name: `s.load-${n}`,
    grid: "g",
    stack: "s",
    service: "load",
    instance_number: n,
    image: IMAGE,
    cmd: SLEEPER,
    revision,
  });

test("never operates on one container twice at once, however often the desired set changes", async () => {
  const { runtime, overlaps, maxParallel } = exclusiveRuntime(simulated());
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1", concurrency: 3 });
  converger.start();
  for (let round = 1; round <= 20; round++) {
    converger.setDesired(Array.from({ length: 10 }, (_, i) => instance(i + 1, `r${round % 3}`)));
    if (round % 4 === 1) converger.removeDesired("g/s/load/3");
    await new Promise((resolve) => setImmediate(resolve));
  }
  await converger.settled();
  assert.deepEqual(overlaps, []);
  assert.ok(maxParallel() > 1 && maxParallel() <= 3, `2 or 3 instances at once, saw ${maxParallel()}`);
  const containers = await runtime.listContainers({ [BERTH_LABELS.node]: "n1" });
  assert.equal(containers.length, 10);
  assert.ok(containers.every((c) => c.labels[BERTH_LABELS.revision] === "r2" && c.state === "running"));
  await converger.close();
});

test("converges a thousand instances on one simulated node", async () => {
  const runtime = simulated();
  const converger = new Converger({ runtime, grid: "g", nodeName: "big" });
  converger.setDesired(Array.from({ length: 1000 }, (_, i) => instance(i + 1, "r1")));
  await converger.settled();
  assert.equal(converger.actualInstances().filter((a) => a.state === "running").length, 1000);
  await converger.close();
});

test("a failed pull keeps the old revision running", async () => {
  const runtime = simulated();
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1" });
  converger.setDesired([instance(1, "r1")]);
  await converger.settled();
  const running = converger.actualInstances()[0]!;
  converger.setDesired([{ ...instance(1, "r2"), image: "registry.example.test:5000/missing:1" }]);
  await converger.settled();
  const failed = converger.actualInstances()[0]!;
  assert.equal(failed.state, "error");
  assert.match(failed.error ?? "", /not found/);
  assert.equal(failed.container_id, running.container_id);
  assert.equal((await runtime.inspectContainer(running.container_id!))?.state, "running");
  await converger.close();
});

test("tries a failed pull again with growing delays, asking for the login each time, until it works", async (t) => {
  const backoff = { initialMs: 100, maxMs: 400 };
  const asked: number[] = [];
  let login: typeof AUTH | null = null;
  const converger = new Converger({
    runtime: simulated(),
    grid: "g",
    nodeName: "n1",
    retryBackoff: backoff,
    credentialsFor: () => {
      asked.push(Date.now());
      return login;
    },
  });
  t.after(() => converger.close());
  converger.setDesired([{ ...instance(1, "r1"), image: PRIVATE_IMAGE }]);
  await waitFor(() => asked.length >= 4, "three retries");
  const failed = converger.actualInstances()[0];
  assert.ok(failed?.state === "error" || failed?.state === "pulling", JSON.stringify(failed));
  // Equal jitter: the delay before retry k is between half and all of min(max, initial * 2^k).
  for (let k = 0; k < 3; k++) {
    const gap = asked[k + 1]! - asked[k]!;
    const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** k);
    assert.ok(gap >= ceiling / 2 - 5, `retry ${k + 1} came after ${gap} ms, before ${ceiling / 2} ms`);
  }

  // The login appears (a registry was added on the master): the next attempt uses it, nothing else is needed.
  login = AUTH;
  await waitFor(() => converger.actualInstances()[0]?.state === "running", "the instance running");
  const attempts = asked.length;
  await new Promise((resolve) => setTimeout(resolve, 2 * backoff.maxMs));
  assert.equal(asked.length, attempts, "no retry after success");
});

test("an invalid image reference is reported on its instance", async () => {
  const converger = new Converger({ runtime: simulated(), grid: "g", nodeName: "n1" });
  converger.setDesired([{ ...instance(1, "r1"), image: "Not A Reference" }]);
  await converger.settled();
  assert.equal(converger.actualInstances()[0]?.state, "error");
  assert.match(converger.actualInstances()[0]?.error ?? "", /invalid image reference/);
  await converger.close();
});

test("removes a container labelled for its grid and node but for no instance, and only that one", async () => {
  const runtime = simulated();
  const stray = (name: string, labels: Record<string, string>) =>
    runtime.createContainer({
      name,
      image: IMAGE,
      env: [],
      cmd: null,
      entrypoint: null,
      user: null,
      ports: [],
      networkMode: "bridge",
      volumes: [],
      volumesFrom: [],
      capAdd: [],
      capDrop: [],
      memory: null,
      memorySwap: null,
      cpuShares: null,
      logDriver: null,
      logOpts: {},
      labels,
    });
  await stray("stray", { [BERTH_LABELS.grid]: "g", [BERTH_LABELS.node]: "n1" });
  // The same node name in another grid, and a node label without a grid: another agent's, or nobody's.
  await stray("other-grid", { [BERTH_LABELS.grid]: "h", [BERTH_LABELS.node]: "n1" });
  await stray("no-grid", { [BERTH_LABELS.node]: "n1" });
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1" });
  converger.setDesired([]);
  await converger.settled();
  assert.deepEqual((await runtime.listContainers({})).map((container) => container.name).sort(), [
    "no-grid",
    "other-grid",
  ]);
  await converger.close();
});

test("a crash loop is restarted at once, then with growing delays", async (t) => {
  const runtime = simulated();
  const backoff = { initialMs: 200, maxMs: 800 };
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1", retryBackoff: backoff });
  converger.start();
  t.after(() => converger.close());
  converger.setDesired([instance(1, "r1")]);
  await converger.settled();
  const starts: number[] = [];
  let startedAt = converger.actualInstances()[0]!.started_at;
  for (let crash = 0; crash < 4; crash++) {
    const died = Date.now();
    runtime.simulateExit(converger.actualInstances()[0]!.container_id!, 1);
    await waitFor(
      () => {
        const actual = converger.actualInstances()[0];
        return actual?.state === "running" && actual.started_at !== startedAt;
      },
      `restart ${crash + 1}`,
    );
    starts.push(Date.now() - died);
    startedAt = converger.actualInstances()[0]!.started_at;
  }
  assert.ok(starts[0]! < 100, `the first restart is immediate: ${starts}`);
  // Equal jitter: the k-th delayed restart waits at least half of min(max, initial * 2^k).
  for (let k = 0; k < 3; k++) {
    const floor = Math.min(backoff.maxMs, backoff.initialMs * 2 ** k) / 2;
    assert.ok(starts[k + 1]! >= floor - 5, `restart ${k + 2} after ${starts[k + 1]} ms, before ${floor} ms`);
  }
});

test("post_start hooks exec in order once per start; an adopted container's hooks are not run again", async (t) => {
  const execs: string[][] = [];
  const runtime = new SimulatedRuntime({
    localImages: [IMAGE],
    exec: (_id, argv) => {
      execs.push([...argv]);
      return argv[2] === "fail" ? { exitCode: 2, output: "nope\n" } : { exitCode: 0, output: "" };
    },
  });
  const hooked = {
    ...instance(1, "r1"),
    post_start: [
      { name: "a", cmd: "first", oneshot: false },
      { name: "b", cmd: "second", oneshot: true },
    ],
  };
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1" });
  converger.start();
  converger.setDesired([hooked]);
  await waitFor(() => converger.actualInstances()[0]?.hooks_ran.length === 2, "both hooks");
  converger.resync();
  await converger.settled();
  assert.deepEqual(execs, [
    ["/bin/sh", "-c", "first"],
    ["/bin/sh", "-c", "second"],
  ]);
  await converger.close();

  const adopter = new Converger({ runtime, grid: "g", nodeName: "n1" });
  adopter.start();
  t.after(() => adopter.close());
  adopter.setDesired([hooked]);
  await adopter.settled();
  assert.equal(adopter.actualInstances()[0]?.state, "running");
  assert.equal(execs.length, 2, "found running: its hooks ran when it started");

  // Its next start is witnessed: the hooks run, and a failure stops them.
  runtime.simulateExit(adopter.actualInstances()[0]!.container_id!, 1);
  adopter.upsertDesired({ ...hooked, post_start: [{ name: "x", cmd: "fail", oneshot: false }, ...hooked.post_start] });
  await waitFor(() => typeof adopter.actualInstances()[0]?.hook_error === "string", "the failing hook");
  assert.equal(adopter.actualInstances()[0]?.hook_error, "x: exit 2: nope");
  assert.deepEqual(adopter.actualInstances()[0]?.hooks_ran, []);
  assert.equal(execs.length, 3);
});

test("the simulated runtime records the network mode; host and none get no address", async (t) => {
  const runtime = simulated();
  const converger = new Converger({ runtime, grid: "g", nodeName: "n1" });
  t.after(() => converger.close());
  converger.setDesired([
    { ...instance(1, "r1"), net: "host" },
    { ...instance(2, "r1"), net: "none" },
    instance(3, "r1"),
  ]);
  await converger.settled();
  const actual = new Map(converger.actualInstances().map((a) => [a.id, a]));
  for (const [n, mode] of [
    [1, "host"],
    [2, "none"],
    [3, "bridge"],
  ] as const) {
    const instanceActual = actual.get(`g/s/load/${n}`)!;
    assert.equal(runtime.specOf(instanceActual.container_id!)?.networkMode, mode);
    assert.equal(instanceActual.ip === null, mode !== "bridge");
  }
});
