import { z } from "zod";
import type { ActualInstance, DesiredInstance } from "../../protocol/instance-spec.ts";
import type { JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import type { Principal } from "../auth/principal.ts";
import {
  DEPLOY_KINDS,
  type DeployKind,
  type InstanceDeploy,
  type ServiceActionParams,
  type ServiceDeployParams,
  type ServiceScaleParams,
  serviceOperation,
} from "../deploys/deploy-kinds.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { writeInGrid } from "../grids/grid-scoped-write.ts";
import type { GridService } from "../grids/grid-service.ts";
import type { NodeInstanceService } from "../nodes/node-instance-service.ts";
import type { OperationRecord } from "../operations/operation-record.ts";
import type { OperationService } from "../operations/operation-service.ts";
import { asPlainObject } from "../stacks/plain-object.ts";
import { type ServiceSpec, serviceName } from "../stacks/service-spec.ts";
import { stackId } from "../stacks/stack-record.ts";
import { deployResultsOf } from "./deploy-results.ts";
import { parseFields, readServiceSpec } from "./service-input.ts";
import {
  NO_STACK,
  parseServiceId,
  type StoredService,
  serviceId,
  serviceKey,
  servicesPrefix,
} from "./service-record.ts";

/** One instance of a service: where it is placed, what is desired of it, what its agent reported. */
export type ServiceInstanceView = {
  readonly instance_number: number;
  readonly container: string;
  readonly node: string;
  readonly desired: DesiredInstance;
  readonly actual: ActualInstance | null;
};

/** total: desired instances; running: those running the desired revision. */
export type InstanceCounts = { readonly total: number; readonly running: number };

/** A deploy-family operation of a service, with how its instances went so far. */
export type ServiceDeployStatus = {
  readonly service: StoredService;
  readonly operation: OperationRecord;
  readonly instance_deploys: readonly InstanceDeploy[];
};

/** Operation kinds whose status a service's deploy status shows (with params.service the service). */
const SERVICE_KINDS: readonly string[] = [
  DEPLOY_KINDS.serviceDeploy,
  DEPLOY_KINDS.serviceScale,
  DEPLOY_KINDS.serviceRestart,
  DEPLOY_KINDS.serviceStart,
  DEPLOY_KINDS.serviceStop,
  DEPLOY_KINDS.serviceRemove,
];

const deployInput = z.strictObject({ force: z.boolean("must be true or false").default(false) });
const scaleInput = z.strictObject({
  instances: z.int("must be a whole number of instances").min(0, "must be 0 or more"),
});

/**
 * Services (spec "Services"): their records, and the operations that act on them. Members of
 * a grid manage its services. Changing a spec does not deploy it; deploy, scale, start, stop,
 * restart and remove are operations, submitted here and carried out by the deployer.
 */
export class ServiceService {
  readonly #store: StateStore;
  readonly #grids: GridService;
  readonly #operations: OperationService;
  readonly #nodeInstances: NodeInstanceService;

  constructor(store: StateStore, grids: GridService, operations: OperationService, nodeInstances: NodeInstanceService) {
    this.#store = store;
    this.#grids = grids;
    this.#operations = operations;
    this.#nodeInstances = nodeInstances;
  }

  /** The grid's services, stackless and in stacks, by id. */
  async list(principal: Principal, grid: string): Promise<StoredService[]> {
    await this.#grids.assertContentAccess(principal, grid);
    const { kvs } = await this.#store.range(servicesPrefix(grid), { prefix: true });
    return kvs.map(storedServiceOf);
  }

  /** `id` is `grid/stack/name` (`null` for the stack of a stackless service). */
  async get(principal: Principal, id: string): Promise<StoredService> {
    const { grid, stack, name } = this.#idParts(id);
    await this.#grids.assertContentAccess(principal, grid);
    const kv = await this.#store.get(serviceKey(grid, stack, name));
    if (!kv) throw notFound(id);
    return storedServiceOf(kv);
  }

  /** A stackless service from a spec (not deployed yet). A taken name is a ConflictError. */
  async create(principal: Principal, grid: string, input: unknown): Promise<StoredService> {
    await this.#grids.assertContentAccess(principal, grid);
    const { spec, problems } = readServiceSpec(input);
    if (spec === undefined) throw new ValidationError(problems);
    await this.#checkLinks(grid, null, spec);
    const key = serviceKey(grid, null, spec.name);
    return this.#write(grid, key, (current) => {
      if (current) throw new ConflictError(`service ${serviceId(grid, null, spec.name)} already exists`);
      return newStoredService(grid, null, spec);
    });
  }

  /**
   * Changes the spec: the given fields replace the current ones (null unsets an optional
   * one) and the result is validated as a whole. The name cannot change. Does not deploy.
   */
  async update(principal: Principal, id: string, input: unknown): Promise<StoredService> {
    const current = await this.get(principal, id);
    const changes = asPlainObject(input);
    if (changes === undefined) throw new ValidationError({ body: "must be an object" });
    if (changes.name !== undefined && changes.name !== current.name)
      throw new ValidationError({ name: "cannot be changed" });
    const merged: Record<string, unknown> = { ...current.spec };
    // `replicas` replaces `instances`, rather than clashing with the current one.
    if (changes.replicas !== undefined) delete merged.instances;
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    const { spec, problems } = readServiceSpec(merged);
    if (spec === undefined) throw new ValidationError(problems);
    await this.#checkLinks(current.grid, current.stack, spec);
    return this.#write(current.grid, serviceKey(current.grid, current.stack, current.name), (kv) => {
      if (!kv) throw notFound(id);
      return { ...storedServiceOf(kv), spec, updated_at: new Date().toISOString() };
    });
  }

  /** Submits the removal (instances first, then the record). */
  async remove(principal: Principal, id: string): Promise<OperationRecord> {
    const service = await this.get(principal, id);
    return this.#submit(principal, service, DEPLOY_KINDS.serviceRemove, "remove", { service: service.id });
  }

  /** `{force: true}` recreates every instance even when its revision is unchanged. */
  async deploy(principal: Principal, id: string, input: unknown = {}): Promise<OperationRecord> {
    const { force } = parseFields(deployInput, input ?? {});
    const service = await this.get(principal, id);
    const params: ServiceDeployParams = { service: service.id, force, reason: null };
    return this.#submit(principal, service, DEPLOY_KINDS.serviceDeploy, "deploy", params);
  }

  /** Sets how many instances the service has, and deploys. */
  async scale(principal: Principal, id: string, instances: unknown): Promise<OperationRecord> {
    const parsed = parseFields(scaleInput, { instances });
    const service = await this.get(principal, id);
    const params: ServiceScaleParams = { service: service.id, instances: parsed.instances };
    return this.#submit(principal, service, DEPLOY_KINDS.serviceScale, `scale to ${parsed.instances}`, params);
  }

  async start(principal: Principal, id: string): Promise<OperationRecord> {
    return this.#action(principal, id, DEPLOY_KINDS.serviceStart, "start");
  }

  async stop(principal: Principal, id: string): Promise<OperationRecord> {
    return this.#action(principal, id, DEPLOY_KINDS.serviceStop, "stop");
  }

  async restart(principal: Principal, id: string): Promise<OperationRecord> {
    return this.#action(principal, id, DEPLOY_KINDS.serviceRestart, "restart");
  }

  /**
   * A deploy of the service (`/v1/services/:id/deploys/:deploy_id`): one of its own operations
   * or a deploy of its stack; anything else is not found.
   */
  async deployStatus(principal: Principal, id: string, operationId: string): Promise<ServiceDeployStatus> {
    const service = await this.get(principal, id);
    const missing = new NotFoundError(`deploy ${operationId} of service ${service.id} not found`);
    if (!/^[1-9]\d{0,14}$/.test(operationId)) throw missing;
    const operation = await this.#operations.find(Number(operationId));
    if (!operation || operation.grid !== service.grid || !isDeployOf(operation, service)) throw missing;
    const result = deployResultsOf(await this.#operations.output(operation.id, "result")).find(
      (line) => line.service_id === service.id,
    );
    return { service, operation, instance_deploys: result?.instance_deploys ?? [] };
  }

  /** The service's desired instances by number, each with its node and its agent's latest report. */
  async instances(service: StoredService): Promise<ServiceInstanceView[]> {
    return (await this.gridInstances(service.grid)).get(service.id) ?? [];
  }

  /** Every desired instance of the grid by service id (one read for a whole listing). */
  async gridInstances(grid: string): Promise<Map<string, ServiceInstanceView[]>> {
    const byService = new Map<string, ServiceInstanceView[]>();
    for (const { node, desired, actual } of await this.#nodeInstances.gridInstances(grid)) {
      const id = serviceId(desired.grid, desired.stack, desired.service);
      const views = byService.get(id) ?? [];
      views.push({ instance_number: desired.instance_number, container: desired.name, node, desired, actual });
      byService.set(id, views);
    }
    for (const views of byService.values()) views.sort((a, b) => a.instance_number - b.instance_number);
    return byService;
  }

  async #action(principal: Principal, id: string, kind: DeployKind, verb: string): Promise<OperationRecord> {
    const service = await this.get(principal, id);
    const params: ServiceActionParams = { service: service.id };
    return this.#submit(principal, service, kind, verb, params);
  }

  #submit(
    principal: Principal,
    service: StoredService,
    kind: DeployKind,
    verb: string,
    params: ServiceActionParams,
  ): Promise<OperationRecord> {
    const [action, ...rest] = verb.split(" ");
    return this.#operations.submit(
      serviceOperation(service, {
        kind,
        description: [action, "service", service.id, ...rest].join(" "),
        user: principal.user.username,
        params,
      }),
    );
  }

  /**
   * Each link must name an existing service: `name` in the service's own stack (or among the
   * stackless ones), `stack/name` in another. A stack's own services are checked by the stack.
   */
  async #checkLinks(grid: string, stack: string | null, spec: ServiceSpec): Promise<void> {
    const problems: Record<string, string> = {};
    for (const [index, link] of spec.links.entries()) {
      const [first, second] = link.name.split("/") as [string, string | undefined];
      const target =
        second === undefined ? { stack, name: first } : { stack: first === NO_STACK ? null : first, name: second };
      if (target.stack === stack && target.name === spec.name)
        problems[`links.${index}`] = "links to the service itself";
      else if (!(await this.#store.get(serviceKey(grid, target.stack, target.name))))
        problems[`links.${index}`] =
          `links to service ${serviceId(grid, target.stack, target.name)}, which does not exist`;
    }
    if (Object.keys(problems).length > 0) throw new ValidationError(problems);
  }

  async #write(
    grid: string,
    key: string,
    change: (current: KeyValue | undefined) => StoredService,
  ): Promise<StoredService> {
    return (await writeInGrid(
      this.#store,
      this.#grids,
      grid,
      key,
      (kv) => change(kv) as unknown as JsonValue,
    )) as unknown as StoredService;
  }

  /** The parts of a service id; an id no service can have is simply not found. */
  #idParts(id: string): { grid: string; stack: string | null; name: string } {
    const parts = parseServiceId(id);
    if (!parts || !serviceName.safeParse(parts.name).success) throw notFound(id);
    return parts;
  }
}

/** A service record as created (from a service API call or a stack), never deployed. */
export function newStoredService(grid: string, stack: string | null, spec: ServiceSpec): StoredService {
  const now = new Date().toISOString();
  return {
    id: serviceId(grid, stack, spec.name),
    grid,
    stack,
    name: spec.name,
    spec,
    state: "initialized",
    created_at: now,
    updated_at: now,
    deployed_at: null,
    deploy_generation: 0,
    restart_requested_at: null,
    oneshot_done: {},
  };
}

export function storedServiceOf(kv: KeyValue): StoredService {
  return kv.value as unknown as StoredService;
}

/** How many of the instances there are, and how many run what is desired of them. */
export function instanceCounts(instances: readonly ServiceInstanceView[]): InstanceCounts {
  return {
    total: instances.length,
    running: instances.filter(
      (instance) => instance.actual?.state === "running" && instance.actual.revision === instance.desired.revision,
    ).length,
  };
}

function isDeployOf(operation: OperationRecord, service: StoredService): boolean {
  const params = asPlainObject(operation.params);
  if (SERVICE_KINDS.includes(operation.kind)) return params?.service === service.id;
  return (
    operation.kind === DEPLOY_KINDS.stackDeploy &&
    service.stack !== null &&
    params?.stack === stackId(service.grid, service.stack)
  );
}

const notFound = (id: string): NotFoundError => new NotFoundError(`service ${id} not found`);
