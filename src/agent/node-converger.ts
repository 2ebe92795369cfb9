import type { ActualInstance, DesiredInstance } from "../protocol/instance-spec.ts";
import type { NodeFacts } from "../protocol/node-facts.ts";
import type { RuntimeEvent } from "./container-runtime.ts";

/**
 * The seam between the agent link and the converger (src/agent/converger.ts): the link feeds
 * desired sets in and carries reports and events out; the converger owns Docker.
 */
export interface NodeConverger {
  /** Engine facts (Docker `info`) and the host's addresses, for the node record. */
  facts(): Promise<NodeFacts>;
  /**
   * The complete desired set for this node; replaces the previous one (level-triggered). The
   * converger touches no container before the first call, so a restarted agent adopts what
   * runs: a container whose io.berth.revision matches its instance is left alone.
   */
  setDesired(instances: readonly DesiredInstance[]): void;
  /** Stops converging and following events; containers keep running. */
  close(): Promise<void>;
}

/** Where the converger sends what it learns; the link forwards it to the master. */
export interface ConvergerReports {
  /**
   * Actual state of instances. `complete`: these are all the instances the node has (after a
   * resync); otherwise only those that changed. An instance the converger removed is reported
   * once with state "removed".
   */
  onReport(instances: readonly ActualInstance[], complete: boolean): void;
  /** A container event of this node's containers (die, oom, start…). */
  onEvent(event: RuntimeEvent): void;
}
