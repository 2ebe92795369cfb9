import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PlacementGrid, scheduleService } from "../../../src/core/scheduler/placement-grid.ts";
import type {
  PlacedInstance,
  ScheduleResult,
  SchedulerNode,
  ServiceSpec,
} from "../../../src/core/scheduler/scheduler-types.ts";

const GiB = 1024 ** 3;

function node(name: string, overrides: Partial<SchedulerNode> = {}): SchedulerNode {
  return {
    name,
    labels: [],
    connected: true,
    drained: false,
    memoryTotal: 8 * GiB,
    hostPorts: [],
    instances: [],
    ...overrides,
  };
}

function service(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    stack: null,
    name: "web",
    strategy: "ha",
    instances: 1,
    affinity: [],
    stateful: false,
    ports: [],
    memory: 0,
    ...overrides,
  };
}

function placed(instance: number, overrides: Partial<PlacedInstance> = {}): PlacedInstance {
  return { stack: null, service: "web", instance, memory: 0, ports: [], ...overrides };
}

/** instance → node, for compact assertions. */
function nodesOf(result: ScheduleResult): Record<number, string> {
  return Object.fromEntries(result.placements.map((p) => [p.instance, p.node]));
}

function countPerNode(result: ScheduleResult): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of result.placements) counts.set(p.node, (counts.get(p.node) ?? 0) + 1);
  return counts;
}

const threeAzs = ["a1", "a2", "b1", "c1"].map((name) => node(name, { labels: [`az=${name[0]}`] }));

describe("PlacementGrid strategies", () => {
  it("ha spreads over az's first, then over nodes", () => {
    const result = scheduleService(threeAzs, service({ instances: 3 }));
    assert.deepEqual(new Set(result.placements.map((p) => p.node[0])), new Set(["a", "b", "c"]));
    const six = scheduleService(threeAzs, service({ instances: 6 }));
    // Two per az: az a's two go to different nodes.
    assert.deepEqual([...countPerNode(six)].sort(), [
      ["a1", 1],
      ["a2", 1],
      ["b1", 2],
      ["c1", 2],
    ]);
  });

  it("ha prefers the node with fewer instances of any service on a tie", () => {
    const nodes = [node("n1", { instances: [placed(1, { service: "other" })] }), node("n2")];
    assert.deepEqual(nodesOf(scheduleService(nodes, service())), { 1: "n2" });
  });

  it("daemon puts `instances` on every eligible node, numbered 1..N", () => {
    const nodes = [node("n1"), node("n2"), node("n3", { drained: true })];
    const result = scheduleService(nodes, service({ strategy: "daemon", instances: 2 }));
    assert.deepEqual(nodesOf(result), { 1: "n1", 2: "n1", 3: "n2", 4: "n2" });
    assert.deepEqual(
      result.placements.map((p) => p.container),
      ["web-1", "web-2", "web-3", "web-4"],
    );
  });

  it("daemon adds to a new node without moving existing instances", () => {
    const nodes = [node("n1"), node("n2", { instances: [placed(1)] }), node("n3", { instances: [placed(2)] })];
    const result = scheduleService(nodes, service({ strategy: "daemon" }));
    assert.deepEqual(nodesOf(result), { 1: "n2", 2: "n3", 3: "n1" });
    assert.deepEqual(
      result.placements.map((p) => p.status),
      ["kept", "kept", "placed"],
    );
  });

  it("random follows the injected source", () => {
    const nodes = [node("n1"), node("n2"), node("n3")];
    const at = (values: number[]) => {
      let i = 0;
      return () => values[i++ % values.length]!;
    };
    const first = scheduleService(nodes, service({ strategy: "random", instances: 3 }), { random: at([0.9]) });
    assert.deepEqual(nodesOf(first), { 1: "n3", 2: "n3", 3: "n3" });
    const second = scheduleService(nodes, service({ strategy: "random", instances: 2 }), { random: at([0]) });
    assert.deepEqual(nodesOf(second), { 1: "n1", 2: "n1" });
  });
});

describe("PlacementGrid filters", () => {
  it("skips drained and disconnected nodes", () => {
    const nodes = [node("n1", { drained: true }), node("n2", { connected: false }), node("n3")];
    assert.deepEqual(nodesOf(scheduleService(nodes, service({ instances: 2 }))), { 1: "n3", 2: "n3" });
  });

  it("applies hard affinities on node, label, service and container", () => {
    const nodes = [
      node("n1", { labels: ["az=a"], instances: [placed(1, { service: "db", stack: "shop" })] }),
      node("n2", { labels: ["az=b"] }),
      node("n3", { labels: ["az=c"] }),
    ];
    const on = (affinity: string[]) => nodesOf(scheduleService(nodes, service({ affinity })))[1];
    assert.equal(on(["node==n2"]), "n2");
    assert.equal(on(["node!=n1", "node!=n2"]), "n3");
    assert.equal(on(["label==az=c"]), "n3");
    assert.equal(on(["label!=az=/a|b/"]), "n3");
    assert.equal(on(["service==db"]), "n1");
    assert.equal(on(["service==shop/db"]), "n1");
    assert.equal(on(["container==shop.db-1"]), "n1");
    assert.equal(on(["service!=db", "node!=n2"]), "n3");
  });

  it("prefers soft affinities and drops them when no node meets them", () => {
    const nodes = [node("n1", { instances: [placed(1, { service: "db" })] }), node("n2")];
    assert.deepEqual(nodesOf(scheduleService(nodes, service({ affinity: ["container==~db-1"] }))), { 1: "n1" });
    assert.deepEqual(nodesOf(scheduleService(nodes, service({ affinity: ["service!=~db"] }))), { 1: "n2" });
    assert.deepEqual(nodesOf(scheduleService(nodes, service({ affinity: ["node==~n9"] }))), { 1: "n2" });
  });

  it("falls back from the preferred nodes once they are full", () => {
    const nodes = [node("n1", { labels: ["ssd"] }), node("n2")];
    const result = scheduleService(
      nodes,
      service({ instances: 2, affinity: ["label==~ssd"], ports: [{ node_port: 80 }] }),
    );
    assert.deepEqual(nodesOf(result), { 1: "n1", 2: "n2" });
  });

  it("avoids host ports in use by the host, other services and its own instances", () => {
    const nodes = [
      node("n1", { hostPorts: [{ node_port: 80 }] }),
      node("n2", { instances: [placed(1, { service: "api", ports: [{ node_port: 80 }] })] }),
      node("n3", { hostPorts: [{ node_port: 80, protocol: "udp" }] }),
      node("n4"),
    ];
    const result = scheduleService(nodes, service({ instances: 3, ports: [{ node_port: 80 }] }));
    assert.deepEqual(nodesOf(result), { 1: "n3", 2: "n4" });
    assert.equal(
      result.unplaced[0]?.reason,
      'instance 3 of web: no node left after filter "drained or disconnected" (4 nodes), filter "port 80/tcp in use" (0 nodes)',
    );
  });

  it("needs the memory reservation free, counting what it placed", () => {
    const nodes = [node("n1", { memoryTotal: 3 * GiB, instances: [placed(1, { service: "db", memory: GiB })] })];
    const result = scheduleService(nodes, service({ instances: 3, memory: GiB }));
    assert.deepEqual(nodesOf(result), { 1: "n1", 2: "n1" });
    assert.match(result.unplaced[0]!.reason, /less than 1073741824 bytes of memory free" \(0 nodes\)$/);
  });
  it("counts the service's own instances in service affinity: service!=web on web is one per node", () => {
    const nodes = [node("n1", { instances: [placed(1), placed(2)] }), node("n2"), node("n3")];
    const result = scheduleService(nodes, service({ instances: 3, affinity: ["service!=web"] }));
    assert.deepEqual(
      result.placements.map((p) => [p.instance, p.node, p.status]),
      [
        [1, "n1", "kept"],
        [2, "n2", "moved"],
        [3, "n3", "placed"],
      ],
    );
  });

  it("applies hard filters to random placement", () => {
    const nodes = [node("n1", { labels: ["az=a"] }), node("n2", { labels: ["az=b"] })];
    const result = scheduleService(nodes, service({ strategy: "random", instances: 3, affinity: ["label==az=b"] }), {
      random: () => 0,
    });
    assert.deepEqual(nodesOf(result), { 1: "n2", 2: "n2", 3: "n2" });
  });
});

describe("PlacementGrid failures", () => {
  it("names the filter that left no node, with the counts before it", () => {
    const nodes = [...threeAzs, node("x", { drained: true })];
    const result = scheduleService(nodes, service({ stack: "shop", affinity: ["label==az=d"] }));
    assert.deepEqual(result.placements, []);
    assert.deepEqual(result.unplaced, [
      {
        instance: 1,
        container: "shop.web-1",
        reason:
          'instance 1 of shop/web: no node left after filter "drained or disconnected" (4 nodes), affinity "label==az=d" (0 nodes)',
      },
    ]);
  });

  it("reports a daemon service that fits no node", () => {
    const result = scheduleService([node("n1")], service({ strategy: "daemon", affinity: ["node==n2"] }));
    assert.match(result.unplaced[0]!.reason, /affinity "node==n2" \(0 nodes\)$/);
  });
  it("reports the daemon instances a node has no room for", () => {
    const nodes = [node("n1", { memoryTotal: 3 * GiB }), node("n2")];
    const result = scheduleService(nodes, service({ strategy: "daemon", instances: 3, memory: GiB }));
    assert.deepEqual(nodesOf(result), { 1: "n1", 2: "n1", 3: "n1", 4: "n2", 5: "n2", 6: "n2" });
    const tight = scheduleService(
      [node("n1", { memoryTotal: 2 * GiB })],
      service({ strategy: "daemon", instances: 3, memory: GiB }),
    );
    assert.deepEqual(nodesOf(tight), { 1: "n1", 2: "n1" });
    assert.deepEqual(tight.unplaced, [
      {
        instance: 3,
        container: "web-3",
        reason:
          'instance 3 of web on node n1: no node left after filter "drained or disconnected" (1 nodes), filter "less than 1073741824 bytes of memory free" (0 nodes)',
      },
    ]);
  });
});

describe("PlacementGrid numbering and stickiness", () => {
  it("keeps valid placements and fills the missing numbers when scaling up", () => {
    const nodes = [node("n1", { instances: [placed(2)] }), node("n2")];
    const result = scheduleService(nodes, service({ instances: 3 }));
    assert.deepEqual(
      result.placements.map((p) => [p.instance, p.node, p.status]),
      [
        [1, "n2", "placed"],
        [2, "n1", "kept"],
        [3, "n1", "placed"],
      ],
    );
    assert.deepEqual(result.removed, []);
  });

  it("removes the highest numbers when scaling down", () => {
    const nodes = [node("n1", { instances: [placed(1), placed(3)] }), node("n2", { instances: [placed(2)] })];
    const result = scheduleService(nodes, service({ instances: 2 }));
    assert.deepEqual(nodesOf(result), { 1: "n1", 2: "n2" });
    assert.deepEqual(result.removed, [{ instance: 3, container: "web-3", node: "n1" }]);
  });

  it("moves stateless instances off unavailable nodes and keeps the rest", () => {
    const nodes = [node("n1", { connected: false, instances: [placed(1)] }), node("n2", { instances: [placed(2)] })];
    const result = scheduleService(nodes, service({ instances: 2 }));
    assert.deepEqual(
      result.placements.map((p) => [p.instance, p.node, p.status]),
      [
        [1, "n2", "moved"],
        [2, "n2", "kept"],
      ],
    );
    assert.deepEqual(result.removed, [{ instance: 1, container: "web-1", node: "n1" }]);
  });

  it("never moves a stateful instance: it waits for its node", () => {
    const nodes = [node("n1", { connected: false, instances: [placed(1)] }), node("n2")];
    const result = scheduleService(nodes, service({ instances: 2, stateful: true }));
    assert.deepEqual(
      result.placements.map((p) => [p.instance, p.node, p.status]),
      [
        [1, "n1", "waiting"],
        [2, "n2", "placed"],
      ],
    );
    assert.deepEqual(result.removed, []);
  });

  it("moves a stateless instance whose node broke a hard affinity", () => {
    const nodes = [node("n1", { labels: ["az=a"], instances: [placed(1)] }), node("n2", { labels: ["az=b"] })];
    const result = scheduleService(nodes, service({ affinity: ["label==az=b"] }));
    assert.deepEqual(nodesOf(result), { 1: "n2" });
    assert.equal(result.placements[0]?.status, "moved");
  });

  it("sees earlier schedules of the same grid and reschedules without churn", () => {
    const grid = new PlacementGrid([node("n1"), node("n2")]);
    grid.schedule(service({ name: "api", ports: [{ node_port: 443 }] }));
    const web = grid.schedule(service({ instances: 1, affinity: ["service==api"] }));
    const api = nodesOf(grid.schedule(service({ name: "api", ports: [{ node_port: 443 }] })));
    assert.equal(nodesOf(web)[1], api[1]);
    const again = grid.schedule(service({ instances: 1, affinity: ["service==api"] }));
    assert.deepEqual(
      again.placements.map((p) => p.status),
      ["kept"],
    );
  });
});
