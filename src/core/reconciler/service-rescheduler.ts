import type { DesiredInstance } from "../../protocol/instance-spec.ts";
import type { StateStore } from "../../store/state-store.ts";
import { DEPLOY_KINDS, masterDeploy, type ServiceDeployParams } from "../deploys/deploy-kinds.ts";
import { nodeInstancesPrefix } from "../nodes/node-record.ts";
import type { OperationRecord } from "../operations/operation-record.ts";
import type { OperationService } from "../operations/operation-service.ts";
import { type StoredService, serviceKey, servicesPrefix } from "../services/service-record.ts";

type Strategy = StoredService["spec"]["strategy"];

/** Which of a node's services a reschedule is about. */
export interface ServiceSelection {
  readonly strategies: readonly Strategy[];
  /** Stateful services stay on their node (the scheduler keeps them waiting there), so a deploy would move nothing. */
  readonly stateful: boolean;
}

/**
 * Finds the services a node event concerns and submits a deploy (`service.deploy`, no force)
 * for each: a deploy of an unchanged spec keeps every placement that is still valid and moves
 * only what the node can no longer hold. Only running services are deployed, and a service is
 * skipped while a deploy of it would already see the change: one still queued (it reads the
 * nodes when it starts), or one processing for the same cause.
 */
export class ServiceRescheduler {
  readonly #store: StateStore;
  readonly #operations: OperationService;

  constructor(store: StateStore, operations: OperationService) {
    this.#store = store;
    this.#operations = operations;
  }

  /** Running services with desired instances on the node, of the selected kinds; `revision`: as the node was then. */
  async servicesOnNode(
    grid: string,
    node: string,
    selection: ServiceSelection,
    revision?: number,
  ): Promise<StoredService[]> {
    const { kvs } = await this.#store.range(nodeInstancesPrefix(grid, node), { prefix: true, revision });
    const services = new Map<string, { stack: string | null; name: string }>();
    for (const kv of kvs) {
      const instance = kv.value as DesiredInstance;
      services.set(`${instance.stack}/${instance.service}`, { stack: instance.stack, name: instance.service });
    }
    const found: StoredService[] = [];
    for (const { stack, name } of services.values()) {
      const service = (await this.#store.get(serviceKey(grid, stack, name)))?.value as StoredService | undefined;
      if (service && selected(service, selection)) found.push(service);
    }
    return found;
  }

  /** The grid's running daemon services that have no instance on the node yet. */
  async daemonsMissingOn(grid: string, node: string): Promise<StoredService[]> {
    const [services, instances] = await Promise.all([
      this.#store.range(servicesPrefix(grid), { prefix: true }),
      this.#store.range(nodeInstancesPrefix(grid, node), { prefix: true }),
    ]);
    const present = new Set(
      instances.kvs.map((kv) => {
        const instance = kv.value as DesiredInstance;
        return `${instance.stack}/${instance.service}`;
      }),
    );
    return services.kvs
      .map((kv) => kv.value as unknown as StoredService)
      .filter((service) => selected(service, { strategies: ["daemon"], stateful: true }))
      .filter((service) => !present.has(`${service.stack}/${service.name}`));
  }

  /**
   * Submits a deploy of each service, giving `reason` (which starts with `cause`, e.g. `node n1
   * offline`); returns the operations submitted.
   */
  async deploy(services: readonly StoredService[], cause: string, reason: string): Promise<OperationRecord[]> {
    if (services.length === 0) return [];
    const pending = (await this.#operations.list({ states: ["queued", "processing"], includeInternal: true })).filter(
      (operation) => operation.kind === DEPLOY_KINDS.serviceDeploy,
    );
    const submitted: OperationRecord[] = [];
    for (const service of services) {
      const covered = pending.some((operation) => {
        const params = operation.params as ServiceDeployParams | null;
        if (params?.service !== service.id) return false;
        return operation.state === "queued" || (params.reason ?? "").startsWith(cause);
      });
      if (covered) continue;
      submitted.push(await this.#operations.submit(masterDeploy(service, reason)));
    }
    return submitted;
  }
}

function selected(service: StoredService, selection: ServiceSelection): boolean {
  return (
    service.state === "running" &&
    selection.strategies.includes(service.spec.strategy) &&
    (selection.stateful || !service.spec.stateful)
  );
}
