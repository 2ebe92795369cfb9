/**
 * Scheduler benchmark: places a grid's worth of services, reschedules them (no changes, so every
 * placement must be kept), then converges the placements on one simulated runtime per node.
 *
 *   npm run bench:scheduler
 *   npm run bench:scheduler -- --nodes 100 --instances 10000 --services 100
 *   npm run bench:scheduler -- --skip-converge
 *
 * Figures, not assertions.
 */

import { parseArgs } from "node:util";
import { Converger } from "../../src/agent/converger.ts";
import { SimulatedRuntime } from "../../src/agent/simulated-runtime.ts";
import { PlacementGrid } from "../../src/core/scheduler/placement-grid.ts";
import type { ScheduleResult } from "../../src/core/scheduler/scheduler-types.ts";
import { type DesiredInstance, desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { positiveArg } from "../support/bench-args.ts";
import { sampleMemory } from "../support/memory.ts";
import { formatBytes, formatNumber, type Row, renderTable } from "../support/table.ts";
import { workloadNodes, workloadServices } from "./grid-workload.ts";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string" },
    instances: { type: "string" },
    services: { type: "string" },
    "skip-converge": { type: "boolean", default: false },
  },
});
const nodeCount = positiveArg(args.nodes, 1_000);
const instanceCount = positiveArg(args.instances, 100_000);
const serviceCount = positiveArg(args.services, 1_000);
const GRID = "bench";
const IMAGE = "busybox:latest";

const nodes = workloadNodes(nodeCount);
const services = workloadServices(serviceCount, instanceCount, nodeCount);
const before = await sampleMemory();

function scheduleAll(grid: PlacementGrid): { results: ScheduleResult[]; ms: number } {
  const started = performance.now();
  const results = services.map((spec) => grid.schedule(spec));
  return { results, ms: performance.now() - started };
}

const grid = new PlacementGrid(nodes);
const first = scheduleAll(grid);
const again = scheduleAll(grid);
const afterScheduling = await sampleMemory();

const count = (results: ScheduleResult[], pick: (result: ScheduleResult) => number) =>
  results.reduce((sum, result) => sum + pick(result), 0);
const placed = count(first.results, (r) => r.placements.length);
const unplaced = count(first.results, (r) => r.unplaced.length);
const keptAgain = count(again.results, (r) => r.placements.filter((p) => p.status === "kept").length);
const churn = count(again.results, (r) => r.removed.length + r.placements.filter((p) => p.status !== "kept").length);

const rows: Row[] = [
  ["nodes / services", `${formatNumber(nodeCount)} / ${formatNumber(serviceCount)}`],
  ["instances placed (unplaced)", `${formatNumber(placed)} (${unplaced.toLocaleString("en-US")})`],
  ["first placement", `${formatNumber(first.ms)} ms, ${formatNumber((placed / first.ms) * 1000)} placements/s`],
  [
    "reschedule, nothing changed",
    `${formatNumber(again.ms)} ms, ${formatNumber((keptAgain / again.ms) * 1000)} placements/s, ${churn.toLocaleString("en-US")} moved or removed`,
  ],
];

if (!args["skip-converge"]) {
  // The placements become desired instances per node, one simulated engine and converger each.
  const perNode = new Map<string, DesiredInstance[]>();
  first.results.forEach((result, i) => {
    const spec = services[i]!;
    for (const placement of result.placements) {
      let list = perNode.get(placement.node);
      if (list === undefined) {
        list = [];
        perNode.set(placement.node, list);
      }
      list.push(
        desiredInstanceSchema.parse({
          id: `${GRID}/${spec.stack ?? "null"}/${spec.name}/${placement.instance}`,
          name: placement.container,
          grid: GRID,
          stack: spec.stack,
          service: spec.name,
          instance_number: placement.instance,
          image: IMAGE,
          revision: "r1",
        }),
      );
    }
  });
  const convergers = nodes.map(
    (node) =>
      new Converger({ runtime: new SimulatedRuntime({ localImages: [IMAGE] }), grid: GRID, nodeName: node.name }),
  );
  const started = performance.now();
  for (const converger of convergers) converger.setDesired(perNode.get(converger.nodeName) ?? []);
  await Promise.all(convergers.map((converger) => converger.settled()));
  const convergeMs = performance.now() - started;
  const running = convergers.reduce(
    (sum, converger) => sum + converger.actualInstances().filter((actual) => actual.state === "running").length,
    0,
  );
  rows.push([
    "converge on simulated runtimes",
    `${formatNumber(convergeMs)} ms, ${formatNumber(running)} running on ${formatNumber(convergers.length)} nodes`,
  ]);
  await Promise.all(convergers.map((converger) => converger.close()));
}

const end = await sampleMemory();
rows.push(
  "-",
  ["RSS before", formatBytes(before.rss)],
  ["RSS after scheduling", formatBytes(afterScheduling.rss)],
  ["RSS at the end", formatBytes(end.rss)],
  // maxRSS is in KiB.
  ["peak RSS (maxRSS)", formatBytes(process.resourceUsage().maxRSS * 1024)],
);
process.stdout.write(renderTable([{ header: "scheduler" }, { header: "", align: "right" }], rows));
