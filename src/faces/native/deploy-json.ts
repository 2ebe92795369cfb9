import type { InstanceDeploy, ServiceDeployResult } from "../../core/deploys/deploy-kinds.ts";
import type { OperationRecord } from "../../core/operations/operation-record.ts";

/** Kontena's deploy states, from the operation's. */
function deployState(operation: OperationRecord): "created" | "ongoing" | "success" | "error" {
  switch (operation.state) {
    case "queued":
      return "created";
    case "processing":
    case "cancelling":
      return "ongoing";
    case "done":
      return "success";
    default:
      return "error";
  }
}

const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A service deploy as Kontena's GridServiceDeploy: one operation on the service and its instances' progress. */
export function serviceDeployJson(
  serviceId: string,
  operation: OperationRecord,
  instanceDeploys: readonly InstanceDeploy[] = [],
) {
  return {
    id: String(operation.id),
    service_id: serviceId,
    created_at: isoTime(operation.createdAt),
    started_at: isoTime(operation.startedAt),
    finished_at: isoTime(operation.finishedAt),
    state: deployState(operation),
    reason: operation.error ?? (operation.state === "cancelled" ? "cancelled" : null),
    instance_deploys: instanceDeploys,
  };
}

/** A stack deploy: the operation, and each service's deploy as far as it got. */
export function stackDeployJson(
  stackId: string,
  operation: OperationRecord,
  serviceDeploys: readonly ServiceDeployResult[],
) {
  return {
    id: String(operation.id),
    stack_id: stackId,
    created_at: isoTime(operation.createdAt),
    started_at: isoTime(operation.startedAt),
    finished_at: isoTime(operation.finishedAt),
    state: deployState(operation),
    reason: operation.error ?? (operation.state === "cancelled" ? "cancelled" : null),
    service_deploys: serviceDeploys,
  };
}
