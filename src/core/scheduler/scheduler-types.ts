/** What the scheduler reads (the grid's nodes, a service's spec) and what it answers (placements). */

export type SchedulingStrategy = "ha" | "daemon" | "random";

/** A host port as Kontena writes it: the node port and its protocol. */
export interface HostPort {
  readonly node_port: number;
  readonly protocol?: "tcp" | "udp";
}

/** An instance already on a node, of any service of the grid (this one's included). */
export interface PlacedInstance {
  readonly stack: string | null;
  readonly service: string;
  /** 1..N within its service. */
  readonly instance: number;
  /** Memory reservation in bytes; 0 when the service reserves none. */
  readonly memory: number;
  readonly ports: readonly HostPort[];
}

export interface SchedulerNode {
  readonly name: string;
  /** Kontena node labels, "key=value" or a bare word; the `az` label spreads `ha` services. */
  readonly labels: readonly string[];
  readonly connected: boolean;
  readonly drained: boolean;
  /** Bytes. */
  readonly memoryTotal: number;
  /** Host ports taken by something other than Berth's instances. */
  readonly hostPorts: readonly HostPort[];
  readonly instances: readonly PlacedInstance[];
}

export interface ServiceSpec {
  readonly stack: string | null;
  readonly name: string;
  readonly strategy: SchedulingStrategy;
  /** Instances in all (`ha`, `random`) or per node (`daemon`). */
  readonly instances: number;
  /** Kontena affinity rules: `node==x`, `label!=az=/b|c/`, `service==~db`… */
  readonly affinity: readonly string[];
  readonly stateful: boolean;
  /** Ports published on the host; only they can conflict. */
  readonly ports: readonly HostPort[];
  /** Memory reservation per instance, bytes; 0 for none. */
  readonly memory: number;
}

/**
 * kept: stays where it is; placed: a new instance; moved: a stateless instance sent away from a
 * node that no longer fits; waiting: a stateful instance whose node is unavailable (never moved).
 */
export type PlacementStatus = "kept" | "placed" | "moved" | "waiting";

export interface Placement {
  readonly instance: number;
  readonly container: string;
  readonly node: string;
  readonly status: PlacementStatus;
}

export interface UnplacedInstance {
  readonly instance: number;
  readonly container: string;
  /** Which filter left no node, with the node count after each one. */
  readonly reason: string;
}

export interface RemovedInstance {
  readonly instance: number;
  readonly container: string;
  readonly node: string;
}

export interface ScheduleResult {
  /** Sorted by instance number. */
  readonly placements: readonly Placement[];
  readonly unplaced: readonly UnplacedInstance[];
  /** Instances scaled away (the highest numbers) or lifted off a node without finding another. */
  readonly removed: readonly RemovedInstance[];
}
