import type { DesiredInstance } from "../../protocol/instance-spec.ts";
import type { JsonValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { NodeInstanceService } from "../nodes/node-instance-service.ts";
import { instanceSegment, nodeInstancesPrefix } from "../nodes/node-record.ts";
import { updateRecord } from "../records/update-record.ts";
import { SECRETS_PREFIX } from "../secrets/secret-service.ts";
import { parseServiceId, type ServiceState, type StoredService, serviceKey } from "../services/service-record.ts";
import { type StoredStack, stackKey } from "../stacks/stack-record.ts";
import { DeployFailedError } from "./deploy-failed-error.ts";
import type { InstanceDeploy } from "./deploy-kinds.ts";
import { type DeployPlan, type InstanceUpdate, planDeploy } from "./deploy-plan.ts";
import type { DeployProgress } from "./deploy-progress.ts";
import { serviceRevision, stackVolumes } from "./desired-instance-builder.ts";
import { type DesiredEntry, readGridSnapshot, serviceEntries, withReserved } from "./grid-snapshot.ts";
import { deployedJudge, InstanceWaitFailure, type Judge, waitForInstance } from "./instance-waiter.ts";

export interface ServiceDeployerOptions {
  /** How long one instance may take to run as desired before the operation fails; 5 minutes when absent. */
  readonly instanceTimeoutMs?: number;
}

const DEFAULT_INSTANCE_TIMEOUT_MS = 5 * 60_000;
/** A plan whose rollout has not begun by then (its operation was cancelled in between) reserves no more. */
const UNUSED_RESERVATION_MS = 60_000;

interface Reservation {
  readonly entries: readonly DesiredEntry[];
  /** Unix ms; null once the rollout began (it releases the reservation when it ends). */
  expiresAt: number | null;
}

function label(entry: DesiredEntry): string {
  return `${entry.instance.name} on ${entry.node}`;
}

function instanceDeploy(
  entry: DesiredEntry,
  state: InstanceDeploy["state"],
  error: string | null = null,
): InstanceDeploy {
  return {
    instance_number: entry.instance.instance_number,
    container: entry.instance.name,
    node: entry.node,
    state,
    error,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The events of one service in an operation: its stage, its tag, and a running task index. */
class ServiceStage {
  readonly stage: string;
  readonly tags: readonly string[];
  readonly total: number;
  #index = 0;

  constructor(verb: string, service: StoredService, total: number) {
    this.stage = `${verb} service ${service.name}`;
    this.tags = [service.name];
    this.total = total;
  }

  next(): number {
    this.#index += 1;
    return this.#index;
  }
}

/**
 * Carries out what the service operations ask, on the store: plans a deploy with the scheduler,
 * rolls instances out a few at a time (each written to its node's desired set, then waited for
 * on the agent's reports), and starts, stops, restarts and removes instances. Every step tells
 * the operation's events and result which instance it touched, on which node, and how it went.
 */
export class ServiceDeployer {
  readonly #store: StateStore;
  readonly #nodeInstances: NodeInstanceService;
  readonly #timeoutMs: number;
  /**
   * Per grid, per service: instances a planned deploy will write but has not yet. Another
   * service's plan counts them as placed, so two deploys running side by side do not both take
   * one host port or the same memory on a node (each plans from its own snapshot).
   */
  readonly #reserved = new Map<string, Map<string, Reservation>>();

  constructor(store: StateStore, nodeInstances: NodeInstanceService, options: ServiceDeployerOptions = {}) {
    this.#store = store;
    this.#nodeInstances = nodeInstances;
    this.#timeoutMs = options.instanceTimeoutMs ?? DEFAULT_INSTANCE_TIMEOUT_MS;
  }

  /**
   * Starts a deploy: stamps the service with the deploy's time, so its agents pull the image again
   * (an unchanged spec may name an image pushed anew under the same tag); a forced deploy also gets
   * a new generation, so every instance gets a new revision. The stamp is stored, not computed per
   * plan, so every instance built from the record carries the same one.
   */
  async begin(id: string, force: boolean): Promise<StoredService> {
    const at = new Date().toISOString();
    return this.#change(id, (service) => ({
      ...service,
      pull_requested_at: at,
      deploy_generation: service.deploy_generation + (force ? 1 : 0),
    }));
  }

  /** Sets spec.instances; answers the count it replaced. */
  async scale(id: string, instances: number): Promise<number> {
    let previous = 0;
    await this.#change(id, (service) => {
      previous = service.spec.instances;
      return { ...service, spec: { ...service.spec, instances } };
    });
    return previous;
  }

  /**
   * Undoes a scale whose deploy did not finish: the count goes back (unless the spec changed
   * since), and instances above it that the deploy added leave their nodes.
   */
  async undoScale(id: string, instances: number, previous: number): Promise<void> {
    const service = await this.#change(id, (current) =>
      current.spec.instances === instances ? { ...current, spec: { ...current.spec, instances: previous } } : undefined,
    );
    if (service === undefined || service.spec.strategy === "daemon") return;
    const snapshot = await readGridSnapshot(this.#store, service.grid);
    const added = serviceEntries(snapshot, service.stack, service.name).filter(
      (entry) => entry.instance.instance_number > previous,
    );
    await this.#nodeInstances.applyChanges(service.grid, {
      put: [],
      delete: added.map((entry) => ({ node: entry.node, id: entry.instance.id })),
    });
  }

  /**
   * Decides the deploy before anything is written: schedules the service on the grid as it is
   * now and sorts its instances. A secret it uses that does not exist, or an instance no node
   * can take (the scheduler says which filter left none), fails it here.
   */
  async plan(service: StoredService): Promise<DeployPlan> {
    const secretRevisions = new Map<string, number>();
    const missing: string[] = [];
    for (const name of new Set(service.spec.secrets.map((secret) => secret.secret))) {
      const kv = await this.#store.get(`${SECRETS_PREFIX}${service.grid}/${name}`);
      if (kv) secretRevisions.set(name, kv.mod_revision);
      else missing.push(name);
    }
    if (missing.length > 0) {
      const which =
        missing.length === 1 ? `secret ${missing[0]}, which does` : `secrets ${missing.join(", ")}, which do`;
      throw new DeployFailedError(`service ${service.id} uses ${which} not exist in grid ${service.grid}`);
    }
    const stack =
      service.stack === null
        ? undefined
        : ((await this.#store.get(stackKey(service.grid, service.stack)))?.value as unknown as StoredStack | undefined);
    const volumes = stackVolumes(stack);
    const snapshot = withReserved(
      await readGridSnapshot(this.#store, service.grid),
      this.#reservedByOthers(service.grid, service.id),
    );
    const plan = planDeploy(service, snapshot, {
      revision: serviceRevision(service, volumes, secretRevisions),
      volumes,
    });
    if (plan.unplaced.length > 0) {
      throw new DeployFailedError(
        `cannot place service ${service.id}: ${[...new Set(plan.unplaced.map((u) => u.reason))].join("; ")}`,
      );
    }
    this.#reserve(service.grid, service.id, plan.updates);
    return plan;
  }

  /** Ends what a plan reserved: its rollout wrote it (or never will). */
  release(service: Pick<StoredService, "grid" | "id">): void {
    const grid = this.#reserved.get(service.grid);
    grid?.delete(service.id);
    if (grid?.size === 0) this.#reserved.delete(service.grid);
  }

  #reserve(grid: string, serviceId: string, entries: readonly DesiredEntry[]): void {
    let reserved = this.#reserved.get(grid);
    if (reserved === undefined) {
      reserved = new Map();
      this.#reserved.set(grid, reserved);
    }
    reserved.set(serviceId, { entries, expiresAt: Date.now() + UNUSED_RESERVATION_MS });
  }

  #reservedByOthers(grid: string, serviceId: string): DesiredEntry[] {
    const now = Date.now();
    return [...(this.#reserved.get(grid) ?? [])].flatMap(([id, reservation]) =>
      id === serviceId || (reservation.expiresAt !== null && reservation.expiresAt < now) ? [] : reservation.entries,
    );
  }

  /**
   * Rolls the plan out: in-place changes first (one write), then the instance updates with at
   * most max(1, floor(total × (1 − min_health))) in flight, each written to its node (leaving
   * its old node in the same write) and waited for; the first failure or a cancel stops new
   * updates, and the events and result say which instances were written and how far each got.
   * Scaled-away instances leave their nodes once every update succeeded.
   */
  async rollOut(plan: DeployPlan, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const reservation = this.#reserved.get(plan.service.grid)?.get(plan.service.id);
    if (reservation !== undefined) reservation.expiresAt = null;
    try {
      await this.#rollOut(plan, progress, signal);
    } finally {
      this.release(plan.service);
    }
  }

  async #rollOut(plan: DeployPlan, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const { service } = plan;
    const stage = new ServiceStage(
      "Deploying",
      service,
      plan.updates.length + plan.waiting.length + plan.removals.length,
    );
    await progress.debug(
      `${service.id} revision ${plan.revision}: ${plan.updates.length} to update, ${plan.unchanged.length} unchanged, ` +
        `${plan.waiting.length} waiting, ${plan.removals.length} to remove`,
    );
    await progress.service(service.id, [
      ...plan.unchanged.map((entry) => instanceDeploy(entry, "success")),
      ...plan.waiting.map((entry) => instanceDeploy(entry, "created", `waiting: node ${entry.node} is offline`)),
      ...plan.updates.map((update) => instanceDeploy(update, "created")),
    ]);
    if (plan.refreshes.length > 0) {
      await this.#nodeInstances.applyChanges(service.grid, {
        put: plan.refreshes.map((entry) => ({ node: entry.node, instance: entry.instance })),
        delete: [],
      });
    }
    const inFlight = Math.max(1, Math.floor(plan.total * (1 - service.spec.deploy_opts.min_health)));
    await this.#runLimited(plan.updates, inFlight, signal, progress, service, (update, stop) =>
      this.#updateOne(update, stage.next(), stage, progress, stop),
    );
    for (const entry of plan.waiting) {
      await progress.event({
        ...stageOf(stage),
        task: `${label(entry)}: waiting for its node (stateful instances stay on their node)`,
        index: stage.next(),
        state: "finished",
      });
    }
    if (plan.removals.length > 0) {
      await this.#nodeInstances.applyChanges(service.grid, {
        put: [],
        delete: plan.removals.map((entry) => ({ node: entry.node, id: entry.instance.id })),
      });
      for (const entry of plan.removals) {
        await progress.event({
          ...stageOf(stage),
          task: `${label(entry)}: removed`,
          index: stage.next(),
          state: "finished",
        });
      }
    }
    await progress.flush();
  }

  /** After a successful rollout: a new service runs; a stopped one stays stopped (its containers are current). */
  async markDeployed(id: string): Promise<void> {
    await this.#change(id, (service) => ({
      ...service,
      state: service.state === "stopped" ? "stopped" : "running",
      deployed_at: new Date().toISOString(),
    }));
  }

  /** Plan, roll out and mark one service: a whole deploy, as a stack deploy runs it per service. */
  async deploy(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const plan = await this.plan(await this.begin(id, false));
    await this.rollOut(plan, progress, signal);
    await this.markDeployed(id);
  }

  /** Start or stop: the service's state and its instances' desired state (no new revision), then waits for them. */
  async setRunState(
    id: string,
    state: "running" | "stopped",
    progress: DeployProgress,
    signal: AbortSignal,
  ): Promise<void> {
    const service = await this.#change(id, (current) => ({ ...current, state: state satisfies ServiceState }));
    await this.#rewriteAndWait(
      service,
      state === "running" ? "Starting" : "Stopping",
      progress,
      signal,
      (instance) => ({
        instance: { ...instance, state },
        judge: runStateJudge(instance.revision, state),
        waitFor: true,
      }),
    );
  }

  /** Asks every agent to restart the service's running containers, and waits until each started again. */
  async restart(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const at = new Date().toISOString();
    const service = await this.#change(id, (current) => ({ ...current, restart_requested_at: at }));
    await this.#rewriteAndWait(service, "Restarting", progress, signal, (instance) => ({
      instance: { ...instance, restart_requested_at: at },
      judge: restartedJudge(instance.revision, at),
      waitFor: instance.state === "running",
    }));
  }

  /**
   * Takes the service's instances off their nodes and waits until their agents removed the
   * containers (a node that is offline removes them when it comes back), then deletes the
   * service record in one write with anything still desired of it.
   */
  async remove(id: string, progress: DeployProgress, signal: AbortSignal): Promise<void> {
    const service = (await this.#store.get(keyOf(id)))?.value as unknown as StoredService | undefined;
    if (service !== undefined) {
      await this.#rewriteAndWait(service, "Removing", progress, signal, () => "remove");
    }
    const parsed = parseServiceId(id);
    if (parsed === undefined) return;
    const snapshot = await readGridSnapshot(this.#store, parsed.grid);
    const ops: TxnOp[] = [
      { type: "delete", key: serviceKey(parsed.grid, parsed.stack, parsed.name) },
      ...serviceEntries(snapshot, parsed.stack, parsed.name).map(
        (entry): TxnOp => ({
          type: "delete",
          key: nodeInstancesPrefix(parsed.grid, entry.node) + instanceSegment(entry.instance.id),
        }),
      ),
    ];
    await this.#store.txn({ compare: [], success: ops });
  }

  /**
   * Rewrites each desired instance of the service (or removes it), in one write, then waits
   * for the ones on connected nodes, all at once; nodes that are offline are reported, not waited for.
   */
  async #rewriteAndWait(
    service: StoredService,
    verb: string,
    progress: DeployProgress,
    signal: AbortSignal,
    rewrite: (instance: DesiredInstance) => { instance: DesiredInstance; judge: Judge; waitFor: boolean } | "remove",
  ): Promise<void> {
    const snapshot = await readGridSnapshot(this.#store, service.grid);
    const entries = serviceEntries(snapshot, service.stack, service.name);
    const plans = entries.map((entry) => ({ entry, change: rewrite(entry.instance) }));
    const since = await this.#nodeInstances.applyChanges(service.grid, {
      put: plans.flatMap(({ entry, change }) =>
        change === "remove" ? [] : [{ node: entry.node, instance: change.instance }],
      ),
      delete: plans.flatMap(({ entry, change }) =>
        change === "remove" ? [{ node: entry.node, id: entry.instance.id }] : [],
      ),
    });
    const stage = new ServiceStage(verb, service, entries.length);
    const what = verb === "Removing" ? "removal" : "change";
    await progress.service(
      service.id,
      entries.map((entry) => instanceDeploy(entry, "ongoing")),
    );
    const failures: string[] = [];
    await Promise.all(
      plans.map(async ({ entry, change }) => {
        const index = stage.next();
        const task = label(entry);
        const waitFor = change === "remove" || change.waitFor;
        if (!snapshot.connected.has(entry.node) || !waitFor) {
          const why = waitFor ? `node ${entry.node} is offline; its agent catches up when it reconnects` : null;
          await progress.event({ ...stageOf(stage), task: why ? `${task}: ${why}` : task, index, state: "finished" });
          await progress.instance(service.id, entry.instance.instance_number, { state: "success", error: why });
          return;
        }
        await progress.event({ ...stageOf(stage), task, index, state: "started" });
        try {
          await waitForInstance(this.#store, {
            grid: service.grid,
            node: entry.node,
            id: entry.instance.id,
            since,
            judge: change === "remove" ? goneJudge : change.judge,
            timeoutMs: this.#timeoutMs,
            signal,
          });
          await progress.event({ ...stageOf(stage), task, index, state: "finished" });
          await progress.instance(service.id, entry.instance.instance_number, { state: "success" });
        } catch (error) {
          const offline = error instanceof InstanceWaitFailure && error.offline;
          const reason = signal.aborted
            ? `${what} written, not confirmed: cancelled`
            : `instance ${entry.instance.name} on node ${entry.node}: ${errorText(error)}`;
          if (offline && change === "remove") {
            // The container goes when the agent reconnects and gets its desired set.
            await progress.event({ ...stageOf(stage), task: `${task}: ${errorText(error)}`, index, state: "finished" });
            await progress.instance(service.id, entry.instance.instance_number, {
              state: "success",
              error: errorText(error),
            });
            return;
          }
          await progress.event({ ...stageOf(stage), task, index, state: "failed", error: reason });
          await progress.instance(service.id, entry.instance.instance_number, { state: "error", error: reason });
          if (!signal.aborted) failures.push(reason);
        }
      }),
    );
    await progress.flush();
    if (signal.aborted) throw signal.reason;
    if (failures.length > 0) throw new DeployFailedError(failures.join("; "));
  }

  /** Runs `run` over the items with at most `limit` at once; stops launching at the first failure or a cancel. */
  async #runLimited(
    updates: readonly InstanceUpdate[],
    limit: number,
    signal: AbortSignal,
    progress: DeployProgress,
    service: StoredService,
    run: (update: InstanceUpdate, stop: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const stop = new AbortController();
    const onAbort = () => stop.abort(new Error("cancelled"));
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    let failure: unknown;
    const running = new Set<Promise<void>>();
    const queue = [...updates];
    try {
      while (queue.length > 0 && !stop.signal.aborted) {
        while (running.size < limit && queue.length > 0 && !stop.signal.aborted) {
          const update = queue.shift() as InstanceUpdate;
          const task: Promise<void> = run(update, stop.signal)
            .catch((error: unknown) => {
              if (stop.signal.aborted) return;
              failure = error;
              stop.abort(new Error(`the deploy stopped after ${update.instance.name} failed`));
            })
            .finally(() => running.delete(task));
          running.add(task);
        }
        if (running.size > 0) await Promise.race(running);
      }
      await Promise.all(running);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (queue.length > 0) {
      const why = `not updated: ${signal.aborted ? "cancelled" : errorText(stop.signal.reason)}`;
      for (const update of queue) {
        await progress.instance(service.id, update.instance.instance_number, { error: why });
      }
    }
    await progress.flush();
    if (failure !== undefined) throw failure;
    if (signal.aborted) throw signal.reason;
  }

  async #updateOne(
    update: InstanceUpdate,
    index: number,
    stage: ServiceStage,
    progress: DeployProgress,
    stop: AbortSignal,
  ): Promise<void> {
    const { instance, node } = update;
    const grid = instance.grid;
    const task = `${instance.name} on ${node}`;
    const serviceId = `${grid}/${instance.stack ?? "null"}/${instance.service}`;
    const where = `instance ${instance.name} on node ${node}`;
    await progress.event({ ...stageOf(stage), task, index, state: "started" });
    await progress.instance(serviceId, instance.instance_number, { state: "ongoing" });
    let written = false;
    try {
      const since =
        update.kind === "verify"
          ? this.#store.currentRevision()
          : await this.#nodeInstances.applyChanges(grid, {
              put: [{ node, instance }],
              delete: update.leaving.map((entry) => ({ node: entry.node, id: entry.instance.id })),
            });
      written = update.kind !== "verify";
      await waitForInstance(this.#store, {
        grid,
        node,
        id: instance.id,
        since,
        judge: deployedJudge(instance),
        timeoutMs: this.#timeoutMs,
        signal: stop,
      });
    } catch (error) {
      if (stop.aborted) {
        const why = `${written ? "written to its node, not confirmed" : "not confirmed"}: ${errorText(stop.reason)}`;
        await progress.event({ ...stageOf(stage), task, index, state: "failed", error: why });
        await progress.instance(serviceId, instance.instance_number, { error: why });
        throw error;
      }
      const reason = `${where}: ${errorText(error)}`;
      await progress.event({ ...stageOf(stage), task, index, state: "failed", error: reason });
      await progress.instance(serviceId, instance.instance_number, { state: "error", error: reason });
      throw new DeployFailedError(reason);
    }
    await progress.event({ ...stageOf(stage), task, index, state: "finished" });
    await progress.instance(serviceId, instance.instance_number, { state: "success", error: null });
  }

  async #change(id: string, change: (service: StoredService) => StoredService | undefined): Promise<StoredService> {
    let changed: StoredService | undefined;
    await updateRecord(this.#store, keyOf(id), (kv) => {
      if (!kv) throw new DeployFailedError(`service ${id} not found`);
      const current = kv.value as unknown as StoredService;
      const next = change(current);
      changed = next ?? current;
      return next === undefined
        ? undefined
        : ({ ...next, updated_at: new Date().toISOString() } as unknown as JsonValue);
    });
    return changed as StoredService;
  }
}

function stageOf(stage: ServiceStage) {
  return { stage: stage.stage, tags: stage.tags, total: stage.total };
}

function keyOf(id: string): string {
  const parsed = parseServiceId(id);
  if (parsed === undefined) throw new DeployFailedError(`"${id}" is not a service id (grid/stack/name)`);
  return serviceKey(parsed.grid, parsed.stack, parsed.name);
}

const goneJudge: Judge = (actual) =>
  actual === undefined ? { done: true } : { pending: `its container to be removed (reported: ${actual.state})` };

function runStateJudge(revision: string, state: "running" | "stopped"): Judge {
  return (actual, fresh) => {
    if (actual === undefined) return { pending: `${state} (nothing reported yet)` };
    if ((actual.revision === revision || fresh) && actual.state === "error")
      return { failed: actual.error ?? "the agent reports an error" };
    if (actual.revision === revision && actual.state === state) return { done: true };
    if (state === "running" && fresh && actual.state === "exited")
      return { failed: `exited${actual.exit_code === null ? "" : ` with code ${actual.exit_code}`}` };
    return { pending: `${state} (reported: ${actual.state})` };
  };
}

function restartedJudge(revision: string, at: string): Judge {
  const requested = Date.parse(at);
  return (actual, fresh) => {
    if (actual === undefined) return { pending: "a restart (nothing reported yet)" };
    if (fresh && actual.state === "error") return { failed: actual.error ?? "the agent reports an error" };
    const started = actual.started_at === null ? Number.NaN : Date.parse(actual.started_at);
    if (actual.state === "running" && actual.revision === revision && started >= requested) return { done: true };
    return { pending: `a restart after ${at} (reported: ${actual.state}, started ${actual.started_at ?? "never"})` };
  };
}
