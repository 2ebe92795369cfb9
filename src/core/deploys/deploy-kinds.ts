/**
 * The operation kinds of services and stacks: their names, their params (kept in the operation
 * record so that a restarted master can rebuild the steps) and the queue target that keeps
 * them apart. The native and Director faces submit them; the deployer registers and runs them.
 */

import type { JsonValue } from "../../store/state-store.ts";
import type { SubmitOperation } from "../operations/operation-service.ts";
import type { StoredService } from "../services/service-record.ts";

/** Who the master's own operations (reschedules, interval and secret redeploys) are submitted as. */
export const MASTER_USER = "berth";

export const DEPLOY_KINDS = {
  /** Places and (re)starts a service's instances from its current spec; also reschedules. */
  serviceDeploy: "service.deploy",
  /** Sets spec.instances, then deploys. */
  serviceScale: "service.scale",
  /** Asks agents to restart the running containers (no new revision). */
  serviceRestart: "service.restart",
  /** Sets the service's state running and starts its instances. */
  serviceStart: "service.start",
  /** Sets the service's state stopped and stops its instances (containers kept). */
  serviceStop: "service.stop",
  /** Removes the instances, then the service record. */
  serviceRemove: "service.remove",
  /** Deploys every service of a stack, in link order. */
  stackDeploy: "stack.deploy",
  /** Removes every service of a stack (reverse link order), then the stack record. */
  stackRemove: "stack.remove",
} as const;

export type DeployKind = (typeof DEPLOY_KINDS)[keyof typeof DEPLOY_KINDS];

export type ServiceDeployParams = {
  /** Service id, `grid/stack/name`. */
  readonly service: string;
  /** Recreate every instance even when its revision did not change. */
  readonly force: boolean;
  /** Why it was submitted when not by a user (a node offline, a secret changed, the interval). */
  readonly reason: string | null;
};
export type ServiceScaleParams = { readonly service: string; readonly instances: number };
export type ServiceActionParams = { readonly service: string };
export type StackActionParams = {
  /** Stack id, `grid/name` (as stackId() makes it). */
  readonly stack: string;
};

/**
 * The queue target of an operation on a service: a stack's services share their stack's target,
 * so a service deploy and its stack's deploy never run at once (a service is never deployed by
 * two operations in parallel); a stackless service has its own.
 */
export function operationTarget(stack: string | null, service?: string): string {
  if (stack !== null) return `stack/${stack}`;
  if (service === undefined) throw new Error("a stackless target needs the service name");
  return `service/${service}`;
}

/**
 * An operation on one service, ready to submit: queued on the service's target and shown under
 * its stack's deployment. `internal` for the master's own (hidden from `GET /tasks?verbose=0`).
 */
export function serviceOperation(
  service: Pick<StoredService, "grid" | "stack" | "name">,
  operation: {
    readonly kind: DeployKind;
    readonly description: string;
    readonly user: string;
    readonly params: ServiceDeployParams | ServiceScaleParams | ServiceActionParams;
    readonly internal?: boolean;
  },
): SubmitOperation {
  return {
    kind: operation.kind,
    description: operation.description,
    user: operation.user,
    grid: service.grid,
    target: operationTarget(service.stack, service.name),
    ...(service.stack !== null && { deployment: service.stack }),
    ...(operation.internal && { internal: true }),
    params: operation.params as unknown as JsonValue,
  };
}

/** A deploy the master submits by itself (interval, secret change, reschedule), with its reason. */
export function masterDeploy(service: Pick<StoredService, "id" | "grid" | "stack" | "name">, reason: string) {
  const params: ServiceDeployParams = { service: service.id, force: false, reason };
  return serviceOperation(service, {
    kind: DEPLOY_KINDS.serviceDeploy,
    description: `deploy service ${service.id} (${reason})`,
    user: MASTER_USER,
    params,
    internal: true,
  });
}

/** How one instance's update went, as the deploy status (`/v1/services/:id/deploys/:id`) shows it. */
export type InstanceDeploy = {
  readonly instance_number: number;
  readonly container: string;
  readonly node: string | null;
  readonly state: "created" | "ongoing" | "success" | "error";
  readonly error: string | null;
};

/**
 * One line of a deploy operation's result output (JSON lines, one per service deployed), kept
 * current while the deploy runs so that the deploy status can be read at any time.
 */
export type ServiceDeployResult = {
  readonly service_id: string;
  readonly instance_deploys: readonly InstanceDeploy[];
};
