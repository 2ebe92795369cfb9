import type { TestContext } from "node:test";
import { DEPLOY_KINDS } from "../../../src/core/deploys/deploy-kinds.ts";
import { registerDeployKinds } from "../../../src/core/deploys/deploy-operation-kinds.ts";
import { ServiceDeployer } from "../../../src/core/deploys/service-deployer.ts";
import { StackDeployer } from "../../../src/core/deploys/stack-deployer.ts";
import { DEFAULT_GRID } from "../../../src/core/grids/grid-service.ts";
import type { NodeLinkLease } from "../../../src/core/nodes/node-link-service.ts";
import { nodeInstancesPrefix, nodeKey } from "../../../src/core/nodes/node-record.ts";
import { OperationKindRegistry } from "../../../src/core/operations/operation-kind-registry.ts";
import {
  FINISHED_STATES,
  type OperationEvent,
  type OperationRecord,
  operationKey,
} from "../../../src/core/operations/operation-record.ts";
import { OperationRunner } from "../../../src/core/operations/operation-runner.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { type StoredService, serviceId, serviceKey } from "../../../src/core/services/service-record.ts";
import { type ServiceSpecInput, serviceSpec } from "../../../src/core/stacks/service-spec.ts";
import { type StoredStack, stackId, stackKey } from "../../../src/core/stacks/stack-record.ts";
import {
  type ActualInstance,
  type DesiredInstance,
  desiredInstanceSchema,
} from "../../../src/protocol/instance-spec.ts";
import type { JsonValue, StateStore, Watcher } from "../../../src/store/state-store.ts";
import { agentHello, nodeCore, reportedInstance } from "../../support/node-fixtures.ts";

export const GRID = DEFAULT_GRID;

/** How a played agent answers a desired instance: the report's fields, or null to stay silent. */
export type Reaction = (instance: DesiredInstance) => Partial<ActualInstance> | null;

/** Runs as an agent would: a container as desired for every instance, reported at once (or when released). */
export const runAsDesired: Reaction = (instance) => ({
  state: instance.state === "running" ? "running" : "stopped",
  revision: instance.revision,
  started_at: new Date().toISOString(),
  port_ready: instance.wait_for_port === null ? null : true,
  hooks_ran: instance.post_start.map((hook) => hook.name),
});

/**
 * Plays a node's agent against the store: follows the node's desired set and writes actual
 * states as the reaction says. `hold` keeps reports back until release(), to see what is in flight.
 */
export class PlayedAgent {
  readonly node: string;
  /** Every desired put this node received, in order (id@revision). */
  readonly received: string[] = [];
  react: Reaction = runAsDesired;
  hold = false;
  readonly #held: (() => Promise<void>)[] = [];
  readonly #store: StateStore;
  readonly #record: (instances: ActualInstance[]) => Promise<void>;
  #watcher: Watcher | undefined;

  constructor(store: StateStore, node: string, record: (instances: ActualInstance[]) => Promise<void>) {
    this.#store = store;
    this.node = node;
    this.#record = record;
  }

  start(): void {
    const prefix = nodeInstancesPrefix(GRID, this.node);
    this.#watcher = this.#store.watch({ key: prefix, prefix: true }, (batch) => {
      for (const event of batch.events) {
        if (event.type === "put") {
          const instance = desiredInstanceSchema.parse(event.kv.value);
          this.received.push(`${instance.id}@${instance.revision}`);
          const fields = this.react(instance);
          if (fields === null) continue;
          const report = () => this.report(instance.id, fields);
          if (this.hold) this.#held.push(report);
          else void report();
        } else {
          const id = decodeURIComponent(event.kv.key.slice(prefix.length));
          void this.report(id, { state: "removed" });
        }
      }
    });
  }

  stop(): void {
    this.#watcher?.cancel();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Sends the oldest held report (or all). */
  async release(count = Number.POSITIVE_INFINITY): Promise<void> {
    for (let sent = 0; sent < count && this.#held.length > 0; sent++)
      await (this.#held.shift() as () => Promise<void>)();
  }

  async report(id: string, fields: Partial<ActualInstance>): Promise<void> {
    await this.#record([reportedInstance(id, { container_id: `c-${id}`, revision: null, ...fields })]);
  }
}

export interface HarnessOptions {
  readonly nodes?: readonly { readonly name: string; readonly labels?: string[]; readonly connected?: boolean }[];
  readonly instanceTimeoutMs?: number;
}

/** The deploy operations over a real store, with nodes whose agents the test plays. */
export async function deployHarness(t: TestContext, options: HarnessOptions = {}) {
  const core = await nodeCore(t);
  const { store, nodeLinks, nodeInstances, grid } = core;
  const operations = new OperationService(store);
  const kinds = new OperationKindRegistry();
  const services = new ServiceDeployer(store, nodeInstances, { instanceTimeoutMs: options.instanceTimeoutMs ?? 5000 });
  const stacks = new StackDeployer(store, services);
  registerDeployKinds(kinds, { services, stacks });
  const runner = new OperationRunner(store, operations, kinds);
  await runner.start();
  t.after(() => runner.stop());

  const agents = new Map<string, PlayedAgent>();
  const links = new Map<string, NodeLinkLease>();
  for (const [index, spec] of (options.nodes ?? [{ name: "node-1" }, { name: "node-2" }]).entries()) {
    const hello = agentHello(spec.name, { labels: spec.labels ?? [] });
    await nodeLinks.join(grid, { ...hello, facts: { ...hello.facts, node_id: `ENGINE:${index}` } });
    const agent = new PlayedAgent(store, spec.name, (instances) =>
      nodeInstances.recordActual(GRID, spec.name, instances, false),
    );
    agent.start();
    t.after(() => agent.stop());
    agents.set(spec.name, agent);
    if (spec.connected !== false) links.set(spec.name, await nodeLinks.connect(GRID, spec.name, hello.facts, "0.1.0"));
  }

  const harness = {
    ...core,
    operations,
    runner,
    services,
    stacks,
    agents,
    agent(name: string): PlayedAgent {
      const agent = agents.get(name);
      if (!agent) throw new Error(`no agent ${name}`);
      return agent;
    },
    async disconnect(name: string): Promise<void> {
      const link = links.get(name);
      if (link) await nodeLinks.disconnect(link);
      links.delete(name);
    },
    async drain(name: string): Promise<void> {
      const kv = await store.get(nodeKey(GRID, name));
      await store.put(nodeKey(GRID, name), { ...(kv?.value as object), availability: "drain" });
    },
    /** Writes a service record as the services API stores it. */
    async putService(
      spec: ServiceSpecInput,
      options: { stack?: string | null; state?: StoredService["state"]; deployed_at?: string | null } = {},
    ): Promise<StoredService> {
      const stack = options.stack ?? null;
      const parsed = serviceSpec.parse(spec);
      const now = new Date().toISOString();
      const existing = (await store.get(serviceKey(GRID, stack, parsed.name)))?.value as unknown as
        | StoredService
        | undefined;
      const service: StoredService = {
        id: serviceId(GRID, stack, parsed.name),
        grid: GRID,
        stack,
        name: parsed.name,
        spec: parsed,
        state: options.state ?? existing?.state ?? "initialized",
        created_at: existing?.created_at ?? now,
        updated_at: now,
        deployed_at: options.deployed_at === undefined ? (existing?.deployed_at ?? null) : options.deployed_at,
        deploy_generation: existing?.deploy_generation ?? 0,
        restart_requested_at: existing?.restart_requested_at ?? null,
        oneshot_done: existing?.oneshot_done ?? {},
      };
      await store.put(serviceKey(GRID, stack, parsed.name), service as unknown as JsonValue);
      return service;
    },
    async service(id: string): Promise<StoredService | undefined> {
      const [grid, stack, name] = id.split("/") as [string, string, string];
      return (await store.get(serviceKey(grid, stack === "null" ? null : stack, name)))?.value as unknown as
        | StoredService
        | undefined;
    },
    async putStack(name: string, services: string[]): Promise<StoredStack> {
      const now = new Date().toISOString();
      const stack: StoredStack = {
        id: stackId(GRID, name),
        grid: GRID,
        name,
        stack: `test/${name}`,
        version: "1.0.0",
        registry: "file://",
        description: null,
        expose: null,
        services,
        volumes: [],
        variables: {},
        source: null,
        created_at: now,
        updated_at: now,
      };
      await store.put(stackKey(GRID, name), stack as unknown as JsonValue);
      return stack;
    },
    /** Submits an operation of a deploy kind on its service's (or stack's) target. */
    async submit(kind: string, params: Record<string, JsonValue>): Promise<OperationRecord> {
      const target =
        typeof params.stack === "string"
          ? `stack/${params.stack.split("/")[1]}`
          : (() => {
              const [, stack, name] = String(params.service).split("/");
              return stack === "null" ? `service/${name}` : `stack/${stack}`;
            })();
      return operations.submit({ kind, description: kind, user: "test", grid: GRID, target, params });
    },
    deploy(service: string, force = false): Promise<OperationRecord> {
      return harness.submit(DEPLOY_KINDS.serviceDeploy, { service, force, reason: null });
    },
    /** Resolves with the record once the operation finished. */
    finished(id: number, timeoutMs = 10_000): Promise<OperationRecord> {
      return new Promise((resolve, reject) => {
        const check = async () => {
          const record = (await store.get(operationKey(id)))?.value as unknown as OperationRecord | undefined;
          if (record && FINISHED_STATES.includes(record.state)) {
            watcher.cancel();
            clearTimeout(timer);
            resolve(record);
          }
        };
        const watcher = store.watch({ key: operationKey(id) }, () => void check());
        const timer = setTimeout(() => {
          watcher.cancel();
          reject(new Error(`operation ${id} did not finish in ${timeoutMs} ms`));
        }, timeoutMs);
        void check();
      });
    },
    async run(operation: Promise<OperationRecord>): Promise<OperationRecord> {
      return harness.finished((await operation).id);
    },
    async events(id: number): Promise<OperationEvent[]> {
      const text = await operations.output(id, "event");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as OperationEvent);
    },
    async results(id: number) {
      return (await operations.output(id, "result"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as import("../../../src/core/deploys/deploy-kinds.ts").ServiceDeployResult);
    },
    /** The desired instances of the grid, as `container@node`. */
    async placements(): Promise<string[]> {
      const snapshot = await nodeInstances.gridInstances(GRID);
      return snapshot.map((entry) => `${entry.desired.name}@${entry.node}`).sort();
    },
    async desired(): Promise<{ node: string; instance: DesiredInstance }[]> {
      const { kvs } = await store.range(`/instances/${GRID}/`, { prefix: true });
      return kvs.map((kv) => ({
        node: kv.key.slice(`/instances/${GRID}/`.length).split("/")[0] as string,
        instance: desiredInstanceSchema.parse(kv.value),
      }));
    },
  };
  return harness;
}

/** Waits until `condition` holds, checking after every store change (no fixed sleeps). */
export function until(store: StateStore, condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = async () => {
      if (done || !(await condition())) return;
      done = true;
      watcher.cancel();
      clearTimeout(timer);
      resolve();
    };
    const watcher = store.watch({ key: "", prefix: true }, () => void check());
    const timer = setTimeout(() => {
      done = true;
      watcher.cancel();
      reject(new Error(`condition not met in ${timeoutMs} ms`));
    }, timeoutMs);
    void check();
  });
}
