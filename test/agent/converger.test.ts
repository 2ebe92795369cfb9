import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerRuntime } from "../../src/agent/container-runtime.ts";
import { Converger } from "../../src/agent/converger.ts";
import { SimulatedRuntime } from "../../src/agent/simulated-runtime.ts";
import { BERTH_LABELS, desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { runConvergerContract, SLEEPER } from "./converger-contract.ts";

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
  const converger = new Converger({ runtime, nodeName: "n1", concurrency: 3 });
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
  const converger = new Converger({ runtime, nodeName: "big" });
  converger.setDesired(Array.from({ length: 1000 }, (_, i) => instance(i + 1, "r1")));
  await converger.settled();
  assert.equal(converger.actualInstances().filter((a) => a.state === "running").length, 1000);
  await converger.close();
});

test("a failed pull keeps the old revision running", async () => {
  const runtime = simulated();
  const converger = new Converger({ runtime, nodeName: "n1" });
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

test("an invalid image reference is reported on its instance", async () => {
  const converger = new Converger({ runtime: simulated(), nodeName: "n1" });
  converger.setDesired([{ ...instance(1, "r1"), image: "Not A Reference" }]);
  await converger.settled();
  assert.equal(converger.actualInstances()[0]?.state, "error");
  assert.match(converger.actualInstances()[0]?.error ?? "", /invalid image reference/);
  await converger.close();
});

test("removes a container labelled for the node but for no instance", async () => {
  const runtime = simulated();
  await runtime.createContainer({
    name: "stray",
    image: IMAGE,
    env: [],
    cmd: null,
    entrypoint: null,
    user: null,
    ports: [],
    volumes: [],
    capAdd: [],
    capDrop: [],
    memory: null,
    memorySwap: null,
    cpuShares: null,
    logDriver: null,
    logOpts: {},
    labels: { [BERTH_LABELS.node]: "n1" },
  });
  const converger = new Converger({ runtime, nodeName: "n1" });
  converger.setDesired([]);
  await converger.settled();
  assert.deepEqual(await runtime.listContainers({}), []);
  await converger.close();
});
