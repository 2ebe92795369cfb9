import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import type { Compare, JsonValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { Principal } from "../auth/principal.ts";
import { DEPLOY_KINDS, type DeployKind, operationTarget, type StackActionParams } from "../deploys/deploy-kinds.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { StackFileError } from "../errors/stack-file-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import type { GridService } from "../grids/grid-service.ts";
import type { OperationRecord } from "../operations/operation-record.ts";
import type { OperationService } from "../operations/operation-service.ts";
import { addIssues, type FieldProblems, readServiceSpec } from "../services/service-input.ts";
import { NO_STACK, type StoredService, serviceKey, servicesPrefix } from "../services/service-record.ts";
import { newStoredService, storedServiceOf } from "../services/service-service.ts";
import { orderByLinks } from "./link-order.ts";
import { asPlainObject } from "./plain-object.ts";
import type { ServiceSpec } from "./service-spec.ts";
import { parseStackFile, type StackDefinition } from "./stack-file-parser.ts";
import { type StoredStack, stackId, stackKey, stacksPrefix } from "./stack-record.ts";

const MAX_ATTEMPTS = 10;
/** The registry of a stack that came from a file rather than a stack registry (as Kontena's CLI records it). */
const FILE_REGISTRY = "file://";

/** A stack's name is part of DNS names and container names (`stack.service-1`): a DNS label. */
export const stackNameSchema = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a DNS label: letters, digits and dashes, at most 63")
  .refine((name) => name !== NO_STACK, `"${NO_STACK}" stands for no stack and cannot name one`);

/** A stack as the native API takes it in JSON (spec "Stacks"); services are service specs. */
const stackBody = z.strictObject({
  name: stackNameSchema.optional(),
  stack: z.string().regex(/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/i, "must be owner/name"),
  version: z.string().min(1, "is required"),
  registry: z.string().min(1).default(FILE_REGISTRY),
  description: z.string().nullable().default(null),
  expose: z.string().nullable().default(null),
  services: z.array(z.unknown(), "must be a list of services").default([]),
  volumes: z
    .array(z.strictObject({ name: z.string().min(1), external: z.string().min(1) }), "must be a list of volumes")
    .default([]),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

/** Everything a stack is made of, however it was given (JSON, a stack file, a Director manifest). */
type StackDraft = Omit<StoredStack, "id" | "grid" | "services" | "created_at" | "updated_at"> & {
  readonly services: readonly ServiceSpec[];
};

type SaveMode = "create" | "update" | "apply";

/**
 * Stacks (spec "Stacks"): a stack record and its services, always written together in one
 * transaction, so a stack is never half there. Members of a grid manage its stacks. Saving
 * does not deploy: deploy and remove are operations, carried out by the deployer.
 */
export class StackService {
  readonly #store: StateStore;
  readonly #grids: GridService;
  readonly #operations: OperationService;

  constructor(store: StateStore, grids: GridService, operations: OperationService) {
    this.#store = store;
    this.#grids = grids;
    this.#operations = operations;
  }

  async list(principal: Principal, grid: string): Promise<StoredStack[]> {
    await this.#grids.assertContentAccess(principal, grid);
    const { kvs } = await this.#store.range(stacksPrefix(grid), { prefix: true });
    return kvs.map((kv) => kv.value as unknown as StoredStack);
  }

  async get(principal: Principal, grid: string, name: string): Promise<StoredStack> {
    await this.#grids.assertContentAccess(principal, grid);
    const kv = await this.#store.get(this.#key(grid, name));
    if (!kv) throw notFound(grid, name);
    return kv.value as unknown as StoredStack;
  }

  /** The stack's services, in its link order. */
  async services(stack: StoredStack): Promise<StoredService[]> {
    const { kvs } = await this.#store.range(servicesPrefix(stack.grid, stack.name), { prefix: true });
    const byName = new Map(kvs.map((kv) => [storedServiceOf(kv).name, storedServiceOf(kv)]));
    return stack.services.flatMap((name) => byName.get(name) ?? []);
  }

  /** From JSON (spec "Create a stack"); a taken name is a ConflictError. */
  async create(principal: Principal, grid: string, input: unknown): Promise<StoredStack> {
    await this.#grids.assertContentAccess(principal, grid);
    return this.#save(grid, await this.#draftFromJson(grid, input), "create");
  }

  /** From a stack file (YAML); `name` overrides the name it gives. */
  async createFromFile(principal: Principal, grid: string, text: string, name?: string): Promise<StoredStack> {
    await this.#grids.assertContentAccess(principal, grid);
    return this.#save(grid, await this.#draftFromFile(grid, text, name), "create");
  }

  /**
   * Replaces the stack's definition (JSON): changed services get their new spec, new ones are
   * created, and services no longer listed stay until the next stack deploy removes them.
   */
  async update(principal: Principal, grid: string, name: string, input: unknown): Promise<StoredStack> {
    await this.#grids.assertContentAccess(principal, grid);
    const named = asPlainObject(input);
    if (named?.name !== undefined && named.name !== name) throw new ValidationError({ name: "cannot be changed" });
    return this.#save(grid, await this.#draftFromJson(grid, { ...named, name: this.#validName(name) }), "update");
  }

  /** As update, from a stack file. */
  async updateFromFile(principal: Principal, grid: string, name: string, text: string): Promise<StoredStack> {
    await this.#grids.assertContentAccess(principal, grid);
    return this.#save(grid, await this.#draftFromFile(grid, text, this.#validName(name)), "update");
  }

  /** Creates the stack, or updates it when it exists, from a parsed definition (the Director's manifests). */
  async apply(
    principal: Principal,
    grid: string,
    definition: StackDefinition,
    source: string | null,
  ): Promise<{ stack: StoredStack; created: boolean }> {
    await this.#grids.assertContentAccess(principal, grid);
    const draft = await this.#draftFromDefinition(grid, definition, this.#validName(definition.name), source);
    let created = false;
    const stack = await this.#save(grid, draft, "apply", (isNew) => {
      created = isNew;
    });
    return { stack, created };
  }

  /** Submits a deploy of every service of the stack, in link order. */
  async deploy(principal: Principal, grid: string, name: string): Promise<OperationRecord> {
    return this.#submit(principal, await this.get(principal, grid, name), DEPLOY_KINDS.stackDeploy, "deploy");
  }

  /** Submits the removal of the stack's services (reverse link order), then of the stack. */
  async remove(principal: Principal, grid: string, name: string): Promise<OperationRecord> {
    return this.#submit(principal, await this.get(principal, grid, name), DEPLOY_KINDS.stackRemove, "remove");
  }

  #submit(principal: Principal, stack: StoredStack, kind: DeployKind, verb: string): Promise<OperationRecord> {
    const params: StackActionParams = { stack: stack.id };
    return this.#operations.submit({
      kind,
      description: `${verb} stack ${stack.id}`,
      user: principal.user.username,
      grid: stack.grid,
      target: operationTarget(stack.name),
      deployment: stack.name,
      params: params as unknown as JsonValue,
    });
  }

  /**
   * Writes the stack and its listed services in one transaction that holds only while none of
   * them (nor the grid) changed since they were read; retried when one did.
   */
  async #save(
    grid: string,
    draft: StackDraft,
    mode: SaveMode,
    onWritten: (created: boolean) => void = () => {},
  ): Promise<StoredStack> {
    const key = stackKey(grid, draft.name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const guard = await this.#grids.guard(grid);
      const current = await this.#store.get(key);
      if (current && mode === "create") throw new ConflictError(`stack ${stackId(grid, draft.name)} already exists`);
      if (!current && mode === "update") throw notFound(grid, draft.name);
      const existing = await this.#store.range(servicesPrefix(grid, draft.name), { prefix: true });
      const byKey = new Map(existing.kvs.map((kv) => [kv.key, kv]));
      const now = new Date().toISOString();
      const compare: Compare[] = [guard, { key, target: "mod_revision", op: "==", value: current?.mod_revision ?? 0 }];
      const ops: TxnOp[] = [];
      for (const spec of draft.services) {
        const serviceKv = byKey.get(serviceKey(grid, draft.name, spec.name));
        compare.push({
          key: serviceKey(grid, draft.name, spec.name),
          target: "mod_revision",
          op: "==",
          value: serviceKv?.mod_revision ?? 0,
        });
        const stored = serviceKv && storedServiceOf(serviceKv);
        if (stored && isDeepStrictEqual(stored.spec, spec)) continue;
        const next: StoredService = stored
          ? { ...stored, spec, updated_at: now }
          : newStoredService(grid, draft.name, spec);
        ops.push({ type: "put", key: serviceKey(grid, draft.name, spec.name), value: next as unknown as JsonValue });
      }
      const previous = current?.value as unknown as StoredStack | undefined;
      const stack: StoredStack = {
        ...draft,
        id: stackId(grid, draft.name),
        grid,
        services: draft.services.map((spec) => spec.name),
        created_at: previous?.created_at ?? now,
        updated_at: now,
      };
      ops.push({ type: "put", key, value: stack as unknown as JsonValue });
      const result = await this.#store.txn({ compare, success: ops });
      if (result.succeeded) {
        onWritten(current === undefined);
        return stack;
      }
    }
    throw new ConflictError(`stack ${stackId(grid, draft.name)} is being changed concurrently; try again`);
  }

  async #draftFromJson(grid: string, input: unknown): Promise<StackDraft> {
    const parsed = stackBody.safeParse(input);
    const problems: FieldProblems = Object.create(null);
    if (!parsed.success) {
      addIssues(problems, parsed.error.issues);
      throw new ValidationError(problems);
    }
    const body = parsed.data;
    const services: ServiceSpec[] = [];
    const seen = new Set<string>();
    body.services.forEach((raw, index) => {
      const named = asPlainObject(raw)?.name;
      const at = `services.${typeof named === "string" && named !== "" ? named : index}.`;
      const { spec, problems: own } = readServiceSpec(raw, at);
      Object.assign(problems, own);
      if (spec === undefined) return;
      if (seen.has(spec.name)) problems[`${at}name`] = "is given to two services";
      seen.add(spec.name);
      services.push(spec);
    });
    if (body.expose !== null && !seen.has(body.expose))
      problems.expose ??= `exposes service "${body.expose}", which is not in this stack`;
    if (Object.keys(problems).length > 0) throw new ValidationError(problems);
    const name = body.name ?? this.#validName(body.stack.split("/")[1] as string, "stack");
    return {
      name,
      stack: body.stack,
      version: body.version,
      registry: body.registry,
      description: body.description,
      expose: body.expose,
      services: await this.#ordered(grid, name, services),
      volumes: body.volumes,
      variables: body.variables,
      source: null,
    };
  }

  async #draftFromFile(grid: string, text: string, name?: string): Promise<StackDraft> {
    let definition: StackDefinition;
    try {
      definition = parseStackFile(text);
    } catch (error) {
      throw error instanceof StackFileError ? asValidationError(error) : error;
    }
    const stackName = name === undefined ? this.#validName(definition.name, "stack") : this.#validName(name);
    return this.#draftFromDefinition(grid, { ...definition, name: stackName }, stackName, text);
  }

  async #draftFromDefinition(
    grid: string,
    definition: StackDefinition,
    name: string,
    source: string | null,
  ): Promise<StackDraft> {
    return {
      name,
      stack: definition.stack,
      version: definition.version,
      registry: FILE_REGISTRY,
      description: definition.description ?? null,
      expose: definition.expose ?? null,
      services: await this.#ordered(grid, name, definition.services),
      volumes: definition.volumes,
      variables: definition.variables,
      source,
    };
  }

  /**
   * The services in link order; a link to a service missing from the stack, a cycle, or a link
   * to `other-stack/service` that does not exist is a ValidationError naming it.
   */
  async #ordered(grid: string, stack: string, services: readonly ServiceSpec[]): Promise<ServiceSpec[]> {
    let ordered: ServiceSpec[];
    try {
      ordered = orderByLinks(services);
    } catch (error) {
      throw error instanceof StackFileError ? asValidationError(error) : error;
    }
    const problems: FieldProblems = {};
    for (const service of ordered) {
      for (const [index, link] of service.links.entries()) {
        const [other, name] = link.name.split("/") as [string, string | undefined];
        if (name === undefined || other === stack) continue;
        if (!(await this.#store.get(serviceKey(grid, other === NO_STACK ? null : other, name))))
          problems[`services.${service.name}.links.${index}`] = `links to service ${link.name}, which does not exist`;
      }
    }
    if (Object.keys(problems).length > 0) throw new ValidationError(problems);
    return ordered;
  }

  /** A stack name given by the caller (`name`) or taken from the stack's `owner/name` (`stack`). */
  #validName(name: string, field: "name" | "stack" = "name"): string {
    const parsed = stackNameSchema.safeParse(name);
    if (parsed.success) return parsed.data;
    const why = parsed.error.issues[0]?.message ?? "is invalid";
    throw new ValidationError(
      field === "name" ? { name: why } : { name: `"${name}" (from stack) ${why}; give the stack a name` },
    );
  }

  /** The stack's store key; a name no stack can have is simply not found. */
  #key(grid: string, name: string): string {
    if (!stackNameSchema.safeParse(name).success) throw notFound(grid, name);
    return stackKey(grid, name);
  }
}

/** A stack file's problems as field problems: each under its path, with its line when known. */
function asValidationError(error: StackFileError): ValidationError {
  const fields: FieldProblems = Object.create(null);
  for (const problem of error.problems) {
    const field = problem.path === "" ? "body" : problem.path;
    const text = problem.line === undefined ? problem.message : `line ${problem.line}: ${problem.message}`;
    fields[field] = fields[field] === undefined ? text : `${fields[field]}; ${text}`;
  }
  return new ValidationError(fields, error.message);
}

const notFound = (grid: string, name: string): NotFoundError => new NotFoundError(`stack ${grid}/${name} not found`);
