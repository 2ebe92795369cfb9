/**
 * The scheduler: places a service's instances 1..N on a grid's nodes. Pure (no store, no I/O):
 * the grid is built from the nodes' facts and keeps each schedule's outcome, so a deploy placing
 * many services in a row sees the memory and ports the earlier ones took without rescanning.
 */

import { type AffinityRule, type AffinityTarget, parseAffinityRule } from "./affinity-rule.ts";
import { MinHeap } from "./min-heap.ts";
import type {
  HostPort,
  Placement,
  PlacementStatus,
  RemovedInstance,
  ScheduleResult,
  SchedulerNode,
  ServiceSpec,
  UnplacedInstance,
} from "./scheduler-types.ts";

export interface PlacementGridOptions {
  /** Source of [0, 1) numbers for the `random` strategy; injectable for deterministic tests. */
  readonly random?: () => number;
}

interface NodeState extends AffinityTarget {
  readonly labels: Set<string>;
  readonly az: string;
  readonly available: boolean;
  memoryFree: number;
  /** "80/tcp" → how many holders (host processes and instances). */
  readonly ports: Map<string, number>;
  readonly services: Map<string, number>;
  readonly containers: Set<string>;
  instanceCount: number;
}

interface HeldInstance {
  readonly instance: number;
  readonly node: NodeState;
  readonly memory: number;
  readonly ports: readonly string[];
}

/** The service being scheduled, with its rules parsed once. */
interface Job {
  readonly spec: ServiceSpec;
  readonly hard: readonly AffinityRule[];
  readonly soft: readonly AffinityRule[];
  readonly ports: readonly string[];
  /** This service's instance count per node and per az, for spreading. */
  readonly perNode: Map<NodeState, number>;
  readonly perAz: Map<string, number>;
}

/** Hands out nodes for one tier of candidates; a node given back can take another instance. */
interface NodePicker {
  take(): NodeState | undefined;
  giveBack(node: NodeState): void;
}

export function containerName(stack: string | null, service: string, instance: number): string {
  return stack === null ? `${service}-${instance}` : `${stack}.${service}-${instance}`;
}

function portKey(port: HostPort): string {
  return `${port.node_port}/${port.protocol ?? "tcp"}`;
}

function serviceKey(stack: string | null, service: string): string {
  return `${stack ?? ""}/${service}`;
}

function bump<K>(map: Map<K, number>, key: K, by: number): void {
  const value = (map.get(key) ?? 0) + by;
  if (value === 0) map.delete(key);
  else map.set(key, value);
}

function azOf(labels: readonly string[]): string {
  const label = labels.find((candidate) => candidate.startsWith("az="));
  return label === undefined ? "" : label.slice(3);
}

export class PlacementGrid {
  readonly #nodes: NodeState[];
  readonly #services = new Map<string, HeldInstance[]>();
  readonly #random: () => number;

  constructor(nodes: readonly SchedulerNode[], options: PlacementGridOptions = {}) {
    this.#random = options.random ?? Math.random;
    // Sorted by name so that ties, daemon order and failure counts do not depend on input order.
    this.#nodes = [...nodes]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((node) => {
        const ports = new Map<string, number>();
        for (const port of node.hostPorts) bump(ports, portKey(port), 1);
        return {
          name: node.name,
          labels: new Set(node.labels),
          az: azOf(node.labels),
          available: node.connected && !node.drained,
          memoryFree: node.memoryTotal,
          ports,
          services: new Map(),
          containers: new Set(),
          instanceCount: 0,
        };
      });
    const byName = new Map(this.#nodes.map((node) => [node.name, node]));
    for (const node of nodes) {
      const state = byName.get(node.name)!;
      for (const placed of node.instances) {
        this.#hold(state, placed.stack, placed.service, placed.instance, placed.memory, placed.ports.map(portKey));
      }
    }
  }

  /** Places `spec`'s instances, keeping every still-valid placement, and records the outcome in the grid. */
  schedule(spec: ServiceSpec): ScheduleResult {
    const rules = spec.affinity.map(parseAffinityRule);
    const job: Job = {
      spec,
      hard: rules.filter((rule) => !rule.soft),
      soft: rules.filter((rule) => rule.soft),
      ports: spec.ports.map(portKey),
      perNode: new Map(),
      perAz: new Map(),
    };
    const key = serviceKey(spec.stack, spec.name);
    const existing = (this.#services.get(key) ?? []).sort((a, b) => a.instance - b.instance);
    this.#services.set(key, []);
    // Lift the service off the grid: each instance is judged as if it were placed afresh.
    for (const held of existing) this.#release(held, spec);

    const placements: Placement[] = [];
    const unplaced: UnplacedInstance[] = [];
    const removed: RemovedInstance[] = [];
    /** Stateless instances lifted off a node that no longer fits them. */
    const moved = new Set<number>();
    const daemon = spec.strategy === "daemon";
    for (const held of existing) {
      const { instance, node } = held;
      const wanted = daemon ? (job.perNode.get(node) ?? 0) < spec.instances : instance <= spec.instances;
      // Stateful instances own their node's data: never moved, waiting while the node is away.
      if (wanted && (spec.stateful || this.#fits(node, job))) {
        this.#place(job, node, instance);
        placements.push(this.#placement(spec, instance, node, node.available ? "kept" : "waiting"));
      } else {
        removed.push({ instance, container: containerName(spec.stack, spec.name, instance), node: node.name });
        if (wanted && !daemon) moved.add(instance);
      }
    }

    const tiers = this.#candidateTiers(job);
    const pickers = tiers.map((tier) => this.#picker(job, tier));
    const used = new Set(placements.map((placement) => placement.instance));
    const nextNumber = (() => {
      let candidate = 0;
      return () => {
        do candidate++;
        while (used.has(candidate));
        used.add(candidate);
        return candidate;
      };
    })();
    const placeOne = (instance: number, pick: () => NodeState | undefined, onto: NodePicker | undefined): boolean => {
      const node = pick();
      if (node === undefined) return false;
      this.#place(job, node, instance);
      if (this.#fits(node, job)) onto?.giveBack(node);
      placements.push(this.#placement(spec, instance, node, moved.has(instance) ? "moved" : "placed"));
      return true;
    };
    if (daemon) {
      for (const tier of tiers) {
        for (const node of tier) {
          while ((job.perNode.get(node) ?? 0) < spec.instances && this.#fits(node, job)) {
            placeOne(nextNumber(), () => node, undefined);
          }
          // The node took some but ran out (memory, its own port): say so for each one missing.
          for (let missing = spec.instances - (job.perNode.get(node) ?? 0); missing > 0; missing--) {
            const instance = nextNumber();
            const container = containerName(spec.stack, spec.name, instance);
            unplaced.push({ instance, container, reason: this.#explain(job, instance, node) });
          }
        }
      }
      if (placements.length === 0) {
        unplaced.push({
          instance: 1,
          container: containerName(spec.stack, spec.name, 1),
          reason: this.#explain(job, 1),
        });
      }
    } else {
      const toPlace: number[] = [];
      for (let instance = 1; instance <= spec.instances; instance++) {
        if (!used.has(instance)) toPlace.push(instance);
      }
      let reason: string | undefined;
      for (const instance of toPlace) {
        const placed =
          reason === undefined && pickers.some((picker) => placeOne(instance, () => picker.take(), picker));
        if (!placed) {
          reason ??= this.#explain(job, instance);
          unplaced.push({ instance, container: containerName(spec.stack, spec.name, instance), reason });
        }
      }
    }
    placements.sort((a, b) => a.instance - b.instance);
    return { placements, unplaced, removed };
  }

  /** Nodes that pass every hard filter: first those that also meet the soft rules, then the rest. */
  #candidateTiers(job: Job): NodeState[][] {
    const fitting = this.#nodes.filter((node) => this.#fits(node, job));
    let preferred = fitting;
    for (const rule of job.soft) {
      const kept = preferred.filter((node) => rule.matches(node));
      if (kept.length > 0) preferred = kept;
    }
    if (preferred === fitting) return [fitting];
    const chosen = new Set(preferred);
    return [preferred, fitting.filter((node) => !chosen.has(node))];
  }

  #picker(job: Job, tier: readonly NodeState[]): NodePicker {
    if (job.spec.strategy === "random") {
      const pool = [...tier];
      let last = -1;
      return {
        take: () => {
          if (pool.length === 0) return undefined;
          last = Math.floor(this.#random() * pool.length);
          const node = pool[last]!;
          // Swap-remove; giveBack undoes it, so the pool's order only depends on the draws. O(1) either way.
          pool[last] = pool[pool.length - 1]!;
          pool.pop();
          return node;
        },
        giveBack: (node) => {
          if (last === pool.length) pool.push(node);
          else {
            pool.push(pool[last]!);
            pool[last] = node;
          }
        },
      };
    }
    // ha: the least-used az of this service first, then its node with the fewest of this
    // service's instances, then the fewest instances overall, then by name.
    const count = (node: NodeState) => job.perNode.get(node) ?? 0;
    const heaps = new Map<string, MinHeap<NodeState>>();
    const heapFor = (az: string) => {
      let heap = heaps.get(az);
      if (heap === undefined) {
        heap = new MinHeap<NodeState>(
          (a, b) =>
            (count(a) - count(b) ||
              a.instanceCount - b.instanceCount ||
              (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) < 0,
        );
        heaps.set(az, heap);
      }
      return heap;
    };
    for (const node of tier) heapFor(node.az).push(node);
    return {
      take: () => {
        let best: MinHeap<NodeState> | undefined;
        let bestAz = "";
        for (const [az, heap] of heaps) {
          if (heap.size === 0) continue;
          const load = job.perAz.get(az) ?? 0;
          const bestLoad = job.perAz.get(bestAz) ?? 0;
          if (best === undefined || load < bestLoad || (load === bestLoad && az < bestAz)) {
            best = heap;
            bestAz = az;
          }
        }
        return best?.pop();
      },
      giveBack: (node) => heapFor(node.az).push(node),
    };
  }

  #fits(node: NodeState, job: Job): boolean {
    if (!node.available) return false;
    for (const rule of job.hard) if (!rule.matches(node)) return false;
    for (const port of job.ports) if (node.ports.has(port)) return false;
    return job.spec.memory === 0 || node.memoryFree >= job.spec.memory;
  }

  /** Why no node is left (or why `only` has no room): the node count after each filter, up to the one that leaves none. */
  #explain(job: Job, instance: number, only?: NodeState): string {
    const { spec } = job;
    const steps: [string, (node: NodeState) => boolean][] = [
      ['filter "drained or disconnected"', (node) => node.available],
      ...job.hard.map((rule): [string, (node: NodeState) => boolean] => [`affinity "${rule.text}"`, rule.matches]),
      ...job.ports.map((port): [string, (node: NodeState) => boolean] => [
        `filter "port ${port} in use"`,
        (node) => !node.ports.has(port),
      ]),
    ];
    if (spec.memory > 0) {
      steps.push([`filter "less than ${spec.memory} bytes of memory free"`, (node) => node.memoryFree >= spec.memory]);
    }
    let remaining: readonly NodeState[] = only === undefined ? this.#nodes : [only];
    const parts: string[] = [];
    for (const [label, keep] of steps) {
      remaining = remaining.filter(keep);
      parts.push(`${label} (${remaining.length} nodes)`);
      if (remaining.length === 0) break;
    }
    const where = only === undefined ? "" : ` on node ${only.name}`;
    const subject = `instance ${instance} of ${spec.stack === null ? "" : `${spec.stack}/`}${spec.name}${where}`;
    return `${subject}: no node left after ${parts.join(", ")}`;
  }

  #placement(spec: ServiceSpec, instance: number, node: NodeState, status: PlacementStatus): Placement {
    return { instance, container: containerName(spec.stack, spec.name, instance), node: node.name, status };
  }

  #place(job: Job, node: NodeState, instance: number): void {
    const { spec } = job;
    this.#hold(node, spec.stack, spec.name, instance, spec.memory, job.ports);
    bump(job.perNode, node, 1);
    bump(job.perAz, node.az, 1);
  }

  /** Gives back what the instance held (as reported, so a spec change applies from its new placement on). */
  #release(held: HeldInstance, spec: ServiceSpec): void {
    const { node } = held;
    node.memoryFree += held.memory;
    for (const port of held.ports) bump(node.ports, port, -1);
    bump(node.services, spec.name, -1);
    if (spec.stack !== null) bump(node.services, `${spec.stack}/${spec.name}`, -1);
    node.containers.delete(containerName(spec.stack, spec.name, held.instance));
    node.instanceCount--;
  }

  #hold(
    node: NodeState,
    stack: string | null,
    service: string,
    instance: number,
    memory: number,
    ports: readonly string[],
  ): void {
    node.memoryFree -= memory;
    for (const port of ports) bump(node.ports, port, 1);
    bump(node.services, service, 1);
    if (stack !== null) bump(node.services, `${stack}/${service}`, 1);
    node.containers.add(containerName(stack, service, instance));
    node.instanceCount++;
    const key = serviceKey(stack, service);
    let held = this.#services.get(key);
    if (held === undefined) {
      held = [];
      this.#services.set(key, held);
    }
    held.push({ instance, node, memory, ports });
  }
}

/** One service on a fresh grid: the shape a single deploy needs. */
export function scheduleService(
  nodes: readonly SchedulerNode[],
  spec: ServiceSpec,
  options?: PlacementGridOptions,
): ScheduleResult {
  return new PlacementGrid(nodes, options).schedule(spec);
}
