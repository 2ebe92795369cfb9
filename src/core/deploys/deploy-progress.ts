import type { StepContext } from "../operations/operation-kind-registry.ts";
import type { OperationEvent } from "../operations/operation-record.ts";
import type { InstanceDeploy, ServiceDeployResult } from "./deploy-kinds.ts";

export interface InstanceEvent {
  readonly stage: string;
  readonly tags: readonly string[];
  readonly task: string;
  readonly index: number;
  readonly total: number;
  readonly state: OperationEvent["state"];
  readonly error?: string;
}

/**
 * What an operation tells about its instances while it runs: an event per instance step, and
 * the result output as one JSON line per service (ServiceDeployResult) rewritten on every
 * change, so the deploy status is current at any moment. Writes go out one at a time, in
 * order (they all change the operation record).
 */
export class DeployProgress {
  readonly #context: StepContext;
  readonly #results = new Map<string, InstanceDeploy[]>();
  #tail: Promise<void> = Promise.resolve();

  constructor(context: StepContext) {
    this.#context = context;
  }

  event(event: InstanceEvent): Promise<void> {
    const line: Omit<OperationEvent, "time"> = {
      stage: event.stage,
      tags: [...event.tags],
      total: event.total,
      task: event.task,
      index: event.index,
      state: event.state,
      progress: event.state === "started" ? 0 : 100,
      ...(event.error === undefined ? {} : { data: { error: event.error } }),
    };
    return this.#enqueue(() => this.#context.event(line));
  }

  debug(line: string): Promise<void> {
    return this.#enqueue(() => this.#context.debug(line));
  }

  /** Starts (or restarts) the service's result line with these instances. */
  service(serviceId: string, instances: readonly InstanceDeploy[]): Promise<void> {
    this.#results.set(
      serviceId,
      [...instances].sort((a, b) => a.instance_number - b.instance_number),
    );
    return this.#writeResults();
  }

  /** Changes one instance of the service's result line. */
  instance(serviceId: string, instanceNumber: number, change: Partial<InstanceDeploy>): Promise<void> {
    const list = this.#results.get(serviceId);
    const index = list?.findIndex((entry) => entry.instance_number === instanceNumber) ?? -1;
    if (list === undefined || index < 0) return this.#tail;
    list[index] = { ...(list[index] as InstanceDeploy), ...change };
    return this.#writeResults();
  }

  /** Resolves once everything asked so far is written. */
  flush(): Promise<void> {
    return this.#tail;
  }

  #writeResults(): Promise<void> {
    const lines: ServiceDeployResult[] = [...this.#results].map(([service_id, instance_deploys]) => ({
      service_id,
      instance_deploys: [...instance_deploys],
    }));
    const text = lines.map((line) => `${JSON.stringify(line)}\n`).join("");
    return this.#enqueue(() => this.#context.setResultOutput(text));
  }

  #enqueue(write: () => Promise<void>): Promise<void> {
    const next = this.#tail.then(write);
    // One failed write must not stop the ones after it; the caller of that write sees its error.
    this.#tail = next.catch(() => {});
    return next;
  }
}
