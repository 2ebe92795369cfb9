import type { StateStore } from "../../store/state-store.ts";
import { type StoredService, servicesPrefix } from "../services/service-record.ts";
import { parseStackId, type StoredStack, stackKey } from "../stacks/stack-record.ts";
import { DeployFailedError } from "./deploy-failed-error.ts";
import type { DeployProgress } from "./deploy-progress.ts";
import type { ServiceDeployer } from "./service-deployer.ts";

function stackIdParts(id: string): { grid: string; name: string } {
  const parts = parseStackId(id);
  if (parts === undefined) throw new DeployFailedError(`"${id}" is not a stack id (grid/name)`);
  return parts;
}

/** The stack operations: its services deployed in link order, or removed in reverse, one service after another. */
export class StackDeployer {
  readonly #store: StateStore;
  readonly #services: ServiceDeployer;

  constructor(store: StateStore, services: ServiceDeployer) {
    this.#store = store;
    this.#services = services;
  }

  async load(id: string): Promise<StoredStack> {
    const { grid, name } = stackIdParts(id);
    const kv = await this.#store.get(stackKey(grid, name));
    if (!kv) throw new DeployFailedError(`stack ${id} not found`);
    return kv.value as unknown as StoredStack;
  }

  /** The services stored under the stack, whether or not the stack still lists them. */
  async #storedServices(stack: Pick<StoredStack, "grid" | "name">): Promise<StoredService[]> {
    const { kvs } = await this.#store.range(servicesPrefix(stack.grid, stack.name), { prefix: true });
    return kvs.map((kv) => kv.value as unknown as StoredService);
  }

  /** Removes the services under the stack that its definition no longer lists. */
  async removeDropped(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const stack = await this.load(id);
    const listed = new Set(stack.services);
    for (const service of await this.#storedServices(stack)) {
      if (signal.aborted) throw signal.reason;
      if (listed.has(service.name)) continue;
      await progress.debug(`removing ${service.id}: no longer in stack ${id}`);
      await this.#services.remove(service.id, progress, signal);
    }
  }

  /** Deploys the stack's services in their (link) order; the first that fails stops the rest. */
  async deployServices(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const stack = await this.load(id);
    for (const name of stack.services) {
      if (signal.aborted) throw signal.reason;
      await this.#services.deploy(`${stack.grid}/${stack.name}/${name}`, progress, signal);
    }
  }

  /** Removes every service of the stack, the last linked first (and any the stack no longer lists before them). */
  async removeServices(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const stack = await this.load(id);
    const stored = await this.#storedServices(stack);
    const order = [...stack.services].reverse();
    const unlisted = stored.filter((service) => !stack.services.includes(service.name)).map((service) => service.name);
    const present = new Set(stored.map((service) => service.name));
    for (const name of [...unlisted, ...order]) {
      if (signal.aborted) throw signal.reason;
      if (!present.has(name)) continue;
      await this.#services.remove(`${stack.grid}/${stack.name}/${name}`, progress, signal);
    }
  }

  /** Deletes the stack record once no service is left under it. */
  async deleteStack(id: string): Promise<void> {
    const stack = await this.load(id);
    const left = await this.#storedServices(stack);
    if (left.length > 0) {
      throw new DeployFailedError(`stack ${id} still has services: ${left.map((service) => service.name).join(", ")}`);
    }
    await this.#store.delete(stackKey(stack.grid, stack.name));
  }
}
