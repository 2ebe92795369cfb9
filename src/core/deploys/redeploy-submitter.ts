import { FINISHED_STATES, type OperationRecord } from "../operations/operation-record.ts";
import type { OperationService } from "../operations/operation-service.ts";
import type { StoredService } from "../services/service-record.ts";
import { masterDeploy } from "./deploy-kinds.ts";

/**
 * Submits the deploys the master decides on by itself (interval, secret change), at most one
 * pending per service: another reason arriving while one waits or runs is left to it.
 */
export class RedeploySubmitter {
  readonly #operations: OperationService;
  readonly #pending = new Map<string, number>();

  constructor(operations: OperationService) {
    this.#operations = operations;
  }

  /** Whether a deploy this submitter made for the service has not finished yet. */
  async isPending(serviceId: string): Promise<boolean> {
    const id = this.#pending.get(serviceId);
    if (id === undefined) return false;
    const operation = await this.#operations.find(id);
    if (operation !== undefined && !FINISHED_STATES.includes(operation.state)) return true;
    this.#pending.delete(serviceId);
    return false;
  }

  /** Submits a deploy of the service, unless one is pending; answers the operation, or undefined when skipped. */
  async submit(service: StoredService, reason: string): Promise<OperationRecord | undefined> {
    if (await this.isPending(service.id)) return undefined;
    const operation = await this.#operations.submit(masterDeploy(service, reason));
    this.#pending.set(service.id, operation.id);
    return operation;
  }
}
