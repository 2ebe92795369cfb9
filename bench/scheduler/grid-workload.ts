/** The scheduler bench's grid: nodes over three az's and a mix of services that adds up to a total. */

import type { SchedulerNode, ServiceSpec } from "../../src/core/scheduler/scheduler-types.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const AZS = ["a", "b", "c"];

export function workloadNodes(count: number): SchedulerNode[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `node-${String(i + 1).padStart(4, "0")}`,
    labels: [`az=${AZS[i % AZS.length]}`, i % 4 === 0 ? "disk=ssd" : "disk=hdd"],
    connected: true,
    drained: false,
    memoryTotal: 64 * GiB,
    hostPorts: [{ node_port: 22 }],
    instances: [],
  }));
}

/**
 * `services` services with `instances` instances in all: one in a hundred is a daemon (one per
 * node), the rest share what is left. Strategies, affinities (hard, soft, regex, on labels,
 * nodes and other services), host ports and stateful services are mixed by index so that every
 * code path of the scheduler runs at scale.
 */
export function workloadServices(services: number, instances: number, nodes: number): ServiceSpec[] {
  const daemons = Math.floor(services / 100);
  const others = services - daemons;
  const shared = Math.max(0, instances - daemons * nodes);
  return Array.from({ length: services }, (_, i): ServiceSpec => {
    const name = `svc-${i}`;
    const stack = i % 2 === 0 ? `stack-${i % 50}` : null;
    if (i < daemons) {
      return {
        stack,
        name,
        strategy: "daemon",
        instances: 1,
        affinity: [],
        stateful: false,
        ports: [],
        memory: 32 * MiB,
      };
    }
    const other = i - daemons;
    const count = Math.floor(shared / others) + (other < shared % others ? 1 : 0);
    const affinity: string[] = [];
    switch (i % 7) {
      case 1:
        affinity.push("label==az=a");
        break;
      case 2:
        affinity.push("label!=~disk=ssd");
        break;
      case 3:
        affinity.push(`service==~svc-${i - 1}`);
        break;
      case 4:
        affinity.push("node!=/node-00[0-4]\\d/");
        break;
      case 5:
        affinity.push("label==disk=/ssd|hdd/", "container!=~svc-0-1");
        break;
    }
    return {
      stack,
      name,
      strategy: i % 3 === 0 ? "random" : "ha",
      instances: count,
      affinity,
      stateful: i % 11 === 0,
      // A published port allows one instance per node: only on services that fit on the grid.
      ports: i % 20 === 0 && count <= nodes ? [{ node_port: 10_000 + i }] : [],
      memory: (64 + (i % 4) * 64) * MiB,
    };
  });
}
