import type { StateStore } from "../../store/state-store.ts";
import { NODE_LINKS_PREFIX, NODES_PREFIX, type StoredNode, storedNodeSchema } from "../nodes/node-record.ts";
import type { ServiceInstanceView, ServiceService } from "../services/service-service.ts";

/** One instance of a stack (a Director "VM"), with the node it is placed on. */
export type StackVm = {
  readonly instance: ServiceInstanceView;
  /** undefined when the node's record is gone (removed while still holding the placement). */
  readonly node: StoredNode | undefined;
  /** Whether the node's agent link is up. */
  readonly connected: boolean;
};

/**
 * A stack's instances where they run, for the Director's `vms`: read without a caller, so the
 * face checks access (by reading the stack as the caller) before asking, and a `vms` task's
 * step can ask after the request is gone.
 */
export class StackVmService {
  readonly #store: StateStore;
  readonly #services: Pick<ServiceService, "gridInstances">;

  constructor(store: StateStore, services: Pick<ServiceService, "gridInstances">) {
    this.#store = store;
    this.#services = services;
  }

  /** The stack's instances by service name, then instance number. */
  async vms(grid: string, stack: string): Promise<StackVm[]> {
    const [byService, nodes, links] = await Promise.all([
      this.#services.gridInstances(grid),
      this.#store.range(`${NODES_PREFIX}${grid}/`, { prefix: true }),
      this.#store.range(`${NODE_LINKS_PREFIX}${grid}/`, { prefix: true, keysOnly: true }),
    ]);
    const nodeByName = new Map(
      nodes.kvs.map((kv) => {
        const node = storedNodeSchema.parse(kv.value);
        return [node.name, node];
      }),
    );
    const linked = new Set(links.kvs.map((kv) => kv.key.slice(`${NODE_LINKS_PREFIX}${grid}/`.length)));
    return [...byService.values()]
      .flat()
      .filter((instance) => instance.desired.stack === stack)
      .sort((a, b) => a.desired.service.localeCompare(b.desired.service) || a.instance_number - b.instance_number)
      .map((instance) => ({
        instance,
        node: nodeByName.get(instance.node),
        connected: linked.has(instance.node),
      }));
  }
}
