import { isDeepStrictEqual } from "node:util";
import type { DesiredInstance } from "../../protocol/instance-spec.ts";
import { PlacementGrid } from "../scheduler/placement-grid.ts";
import type { ServiceSpec as SchedulerSpec, UnplacedInstance } from "../scheduler/scheduler-types.ts";
import type { StoredService } from "../services/service-record.ts";
import { type BuildContext, buildDesiredInstance } from "./desired-instance-builder.ts";
import { actualKey, type DesiredEntry, type GridSnapshot, schedulerNodes, serviceEntries } from "./grid-snapshot.ts";

/**
 * create: a new instance; move: to another node (the old copy goes in the same write);
 * update: a new revision on the same node; verify: nothing to write, but it does not run what is
 * desired yet (a deploy after a failed one waits for it again).
 */
export type UpdateKind = "create" | "move" | "update" | "verify";

export interface InstanceUpdate {
  readonly kind: UpdateKind;
  readonly node: string;
  readonly instance: DesiredInstance;
  /** Copies of the instance on other nodes, deleted with the write. */
  readonly leaving: readonly DesiredEntry[];
}

/** What a deploy of one service will do, decided before it writes anything. */
export interface DeployPlan {
  readonly service: StoredService;
  readonly revision: string;
  /** How many instances the service has once deployed. */
  readonly total: number;
  /** Written (or checked) and waited for, a few at a time. */
  readonly updates: readonly InstanceUpdate[];
  /** Written at once without waiting: changes the agent applies in place (hooks, checks, restart), or to a waiting node. */
  readonly refreshes: readonly DesiredEntry[];
  /** Stateful instances kept on a node that is away; they are not waited for. */
  readonly waiting: readonly DesiredEntry[];
  /** Already as desired and running. */
  readonly unchanged: readonly DesiredEntry[];
  /** Scaled away (the highest numbers) or left on a node that no longer exists. */
  readonly removals: readonly DesiredEntry[];
  readonly unplaced: readonly UnplacedInstance[];
}

export function schedulerSpec(service: StoredService): SchedulerSpec {
  const { spec } = service;
  return {
    stack: service.stack,
    name: service.name,
    strategy: spec.strategy,
    instances: spec.instances,
    affinity: spec.affinity,
    stateful: spec.stateful,
    ports: spec.ports.map((port) => ({ node_port: port.node_port, protocol: port.protocol })),
    memory: spec.memory ?? 0,
  };
}

/** Whether the agent already runs the instance as desired (or holds it stopped, for a stopped one). */
export function runsAsDesired(snapshot: GridSnapshot, node: string, instance: DesiredInstance): boolean {
  const actual = snapshot.actual.get(actualKey(node, instance.id));
  if (actual === undefined || actual.revision !== instance.revision) return false;
  return instance.state === "running" ? actual.state === "running" : actual.state === "stopped";
}

/** Schedules the service on the grid as the snapshot has it and sorts each instance into what to do. */
export function planDeploy(service: StoredService, snapshot: GridSnapshot, context: BuildContext): DeployPlan {
  const result = new PlacementGrid(schedulerNodes(snapshot)).schedule(schedulerSpec(service));
  const entries = serviceEntries(snapshot, service.stack, service.name);
  const byNumber = new Map<number, DesiredEntry[]>();
  for (const entry of entries) {
    const list = byNumber.get(entry.instance.instance_number) ?? [];
    list.push(entry);
    byNumber.set(entry.instance.instance_number, list);
  }
  const updates: InstanceUpdate[] = [];
  const refreshes: DesiredEntry[] = [];
  const waiting: DesiredEntry[] = [];
  const unchanged: DesiredEntry[] = [];
  const placedNumbers = new Set<number>();
  /** Stray copies of an instance that stays where it is. */
  const strays: DesiredEntry[] = [];
  for (const placement of result.placements) {
    placedNumbers.add(placement.instance);
    const instance = buildDesiredInstance(service, placement.instance, context);
    const copies = byNumber.get(placement.instance) ?? [];
    const current = copies.find((entry) => entry.node === placement.node);
    const leaving = copies.filter((entry) => entry !== current);
    const entry = { node: placement.node, instance };
    if (placement.status === "waiting") {
      waiting.push(entry);
      strays.push(...leaving);
      if (!isDeepStrictEqual(current?.instance, instance)) refreshes.push(entry);
      continue;
    }
    if (current === undefined) {
      updates.push({ kind: leaving.length > 0 ? "move" : "create", node: placement.node, instance, leaving });
    } else if (current.instance.revision !== instance.revision) {
      updates.push({ kind: "update", node: placement.node, instance, leaving });
    } else {
      strays.push(...leaving);
      if (!isDeepStrictEqual(current.instance, instance)) refreshes.push(entry);
      if (runsAsDesired(snapshot, placement.node, instance)) unchanged.push(entry);
      else updates.push({ kind: "verify", node: placement.node, instance, leaving: [] });
    }
  }
  const removals = entries.filter((entry) => !placedNumbers.has(entry.instance.instance_number));
  return {
    service,
    revision: context.revision,
    total: result.placements.length,
    updates,
    refreshes,
    waiting,
    unchanged,
    removals: [...removals, ...strays],
    unplaced: result.unplaced,
  };
}
