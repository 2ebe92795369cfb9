import { EventEmitter } from "node:events";
import { normalizeImageReference } from "../protocol/image-reference.ts";
import { type ActualInstance, BERTH_LABELS, type DesiredInstance } from "../protocol/instance-spec.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSpec,
  ContainerSummary,
  EventSubscription,
  RegistryAuth,
  RuntimeEvent,
} from "./container-runtime.ts";
import { type BackoffPolicy, reconnectDelay } from "./reconnect-backoff.ts";

export interface ConvergerOptions {
  readonly runtime: ContainerRuntime;
  /** This agent's grid: the io.berth.grid label of every container it owns. */
  readonly grid: string;
  /** This agent's node name: the io.berth.node label of every container it owns. */
  readonly nodeName: string;
  /**
   * Credentials for an image's registry, or null for an anonymous pull; asked right before every
   * pull (the agent asks the master). A rejection fails the pull like the registry's refusal would.
   */
  readonly credentialsFor?: (image: string) => Promise<RegistryAuth | null> | RegistryAuth | null;
  /** Delays between attempts at an instance whose last one failed (a pull, a create…). Default 1 s doubling to 1 min. */
  readonly retryBackoff?: BackoffPolicy;
  /** Grace period between SIGTERM and SIGKILL when a container is stopped or replaced. Default 10. */
  readonly stopTimeoutSeconds?: number;
  /** Instances converged at once (pulls and creates run in parallel up to this). Default 4. */
  readonly concurrency?: number;
}

/** A container event of this node's containers, as the link forwards it to the master. */
export interface ContainerEventReport {
  /** io.berth.instance of the container; null for a node-labelled container without one. */
  readonly instance: string | null;
  readonly container_id: string;
  /** Docker's action: start, die, oom, destroy, stop, kill, pause… */
  readonly action: string;
  /** Set on die. */
  readonly exit_code: number | null;
  readonly time: string;
}

export interface ConvergerEvents {
  /** An instance's actual state changed (also `removed` once, when it left the desired set). */
  actual: [ActualInstance];
  event: [ContainerEventReport];
  /** Something outside any one instance failed: listing containers, the event stream. */
  failure: [Error];
}

/** Docker actions after which an instance's reported state may have changed. */
const STATE_CHANGING_ACTIONS = new Set(["start", "die", "oom", "destroy", "pause", "unpause", "restart", "stop"]);
const NOT_RUNNING: ReadonlySet<string> = new Set(["created", "exited", "dead"]);
const GONE: ReadonlySet<string> = new Set(["dead", "removing"]);
const DEFAULT_RETRY_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };

interface InstanceWork {
  converge: boolean;
  refresh: boolean;
  queued: boolean;
}

/** An instance whose last attempt failed: how many in a row, and the timer of the next one. */
interface InstanceRetry {
  failures: number;
  timer: NodeJS.Timeout;
}

type ActualFields = Omit<ActualInstance, "id" | "updated_at">;

/**
 * Makes this node's containers match the desired instances the master sends, level-triggered:
 * every pass compares the whole desired set with what the engine has, so a missed change or
 * a container removed by hand is repaired by the next pass. Work is serialized per instance
 * (never two operations on one container at once); a change that arrives while an instance is
 * being worked on is picked up right after, coalesced with any others.
 *
 * Nothing is removed before the first full desired set arrives: a restarted agent adopts the
 * containers it finds (by their labels) and restarts none that match. It owns exactly the
 * containers labelled with its grid and node name: agents of other nodes, or of a node of the
 * same name in another grid, may share the engine.
 *
 * An instance whose converging fails (a pull refused, a create that errs) is tried again on its
 * own, with exponential backoff and jitter, until an attempt succeeds or it is no longer desired;
 * each attempt starts afresh (a pull asks for the registry login again).
 */
export class Converger extends EventEmitter<ConvergerEvents> {
  readonly #runtime: ContainerRuntime;
  readonly #grid: string;
  readonly #nodeName: string;
  /** The labels of every container this converger owns. */
  readonly #ownLabels: Readonly<Record<string, string>>;
  readonly #credentialsFor: NonNullable<ConvergerOptions["credentialsFor"]>;
  readonly #stopTimeout: number;
  readonly #concurrency: number;
  readonly #retryBackoff: BackoffPolicy;

  readonly #desired = new Map<string, DesiredInstance>();
  readonly #actual = new Map<string, ActualInstance>();
  readonly #work = new Map<string, InstanceWork>();
  readonly #retries = new Map<string, InstanceRetry>();
  readonly #queue: string[] = [];
  #active = 0;
  #haveFullSet = false;
  #passPending = false;
  #passRunning = false;
  #closed = false;
  #events: EventSubscription | null = null;
  #settledWaiters: (() => void)[] = [];

  constructor(options: ConvergerOptions) {
    super();
    this.#runtime = options.runtime;
    this.#grid = options.grid;
    this.#nodeName = options.nodeName;
    this.#ownLabels = { [BERTH_LABELS.grid]: options.grid, [BERTH_LABELS.node]: options.nodeName };
    this.#credentialsFor = options.credentialsFor ?? (() => null);
    this.#stopTimeout = options.stopTimeoutSeconds ?? 10;
    this.#concurrency = options.concurrency ?? 4;
    this.#retryBackoff = options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
  }

  get grid(): string {
    return this.#grid;
  }

  get nodeName(): string {
    return this.#nodeName;
  }

  /** Starts following the engine's events for this node's containers. */
  start(): void {
    if (this.#events !== null || this.#closed) return;
    let connectedBefore = false;
    this.#events = this.#runtime.watchEvents(this.#ownLabels, {
      onEvent: (event) => this.#onRuntimeEvent(event),
      onError: (error) => this.emit("failure", error),
      onConnect: () => {
        // Events may have been missed while the stream was down: compare everything again.
        if (connectedBefore) this.resync();
        connectedBefore = true;
      },
    });
  }

  /** Replaces the whole desired set (after every link (re)connect); containers not in it are removed. */
  setDesired(instances: readonly DesiredInstance[]): void {
    const next = new Map(instances.map((instance) => [instance.id, instance]));
    for (const id of this.#desired.keys()) if (!next.has(id)) this.#schedule(id, "converge");
    this.#desired.clear();
    for (const [id, instance] of next) this.#desired.set(id, instance);
    this.#haveFullSet = true;
    this.resync();
  }

  /** Adds or changes one desired instance. */
  upsertDesired(instance: DesiredInstance): void {
    this.#desired.set(instance.id, instance);
    this.#schedule(instance.id, "converge");
  }

  /** Removes one instance from the desired set; its container is stopped and removed. */
  removeDesired(id: string): void {
    this.#desired.delete(id);
    this.#schedule(id, "converge");
  }

  /** Compares every desired instance and every container of this node again (the level trigger). */
  resync(): void {
    if (!this.#haveFullSet || this.#closed) return;
    this.#passPending = true;
    if (!this.#passRunning) void this.#runPasses();
  }

  /** The last reported state of every instance this converger knows. */
  actualInstances(): ActualInstance[] {
    return [...this.#actual.values()];
  }

  /** Resolves once no pass or instance work is pending or running. */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Stops following events and takes no new work; resolves when work in flight has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#events?.close();
    this.#events = null;
    for (const retry of this.#retries.values()) clearTimeout(retry.timer);
    this.#retries.clear();
    this.#queue.length = 0;
    for (const [id, work] of this.#work) if (work.queued) this.#work.delete(id);
    await this.settled();
  }

  #isSettled(): boolean {
    return !this.#passPending && !this.#passRunning && this.#work.size === 0;
  }

  #notifyIfSettled(): void {
    if (!this.#isSettled()) return;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async #runPasses(): Promise<void> {
    this.#passRunning = true;
    try {
      while (this.#passPending && !this.#closed) {
        this.#passPending = false;
        await this.#pass();
      }
    } finally {
      this.#passRunning = false;
      this.#notifyIfSettled();
    }
  }

  async #pass(): Promise<void> {
    let containers: ContainerSummary[];
    try {
      containers = await this.#runtime.listContainers(this.#ownLabels);
    } catch (error) {
      this.emit("failure", asError(error));
      return;
    }
    const ids = new Set(this.#desired.keys());
    for (const container of containers) {
      const instance = container.labels[BERTH_LABELS.instance];
      if (instance !== undefined) {
        ids.add(instance);
        continue;
      }
      // Labelled for this grid and node but for no instance: not something Berth made or wants here.
      try {
        await this.#discard(container.id);
      } catch (error) {
        this.emit("failure", asError(error));
      }
    }
    for (const id of ids) this.#schedule(id, "converge");
  }

  #schedule(id: string, kind: "converge" | "refresh"): void {
    if (this.#closed) return;
    let work = this.#work.get(id);
    if (work === undefined) {
      work = { converge: false, refresh: false, queued: true };
      this.#work.set(id, work);
      this.#queue.push(id);
    }
    work[kind] = true;
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      const work = this.#work.get(id);
      if (work === undefined) continue;
      work.queued = false;
      this.#active++;
      void this.#runInstance(id, work);
    }
  }

  /** The only place an instance's containers are operated on: one loop per instance at a time. */
  async #runInstance(id: string, work: InstanceWork): Promise<void> {
    try {
      while ((work.converge || work.refresh) && !this.#closed) {
        const converge = work.converge;
        work.converge = false;
        work.refresh = false;
        try {
          if (!converge) await this.#refreshInstance(id);
          else if (await this.#convergeInstance(id)) this.#succeeded(id);
          else this.#retryLater(id);
        } catch (error) {
          this.#reportError(id, asError(error));
          this.#retryLater(id);
        }
      }
    } finally {
      this.#work.delete(id);
      this.#active--;
      this.#pump();
      this.#notifyIfSettled();
    }
  }

  /** The instance converged: no retry is due. */
  #succeeded(id: string): void {
    const retry = this.#retries.get(id);
    if (retry === undefined) return;
    clearTimeout(retry.timer);
    this.#retries.delete(id);
  }

  /** The instance failed: it is converged again after a delay that grows with each failure in a row. */
  #retryLater(id: string): void {
    if (this.#closed) return;
    const previous = this.#retries.get(id);
    clearTimeout(previous?.timer);
    const failures = (previous?.failures ?? 0) + 1;
    const timer = setTimeout(() => this.#schedule(id, "converge"), reconnectDelay(this.#retryBackoff, failures - 1));
    // A retry waiting is no reason to keep the process alive.
    timer.unref();
    this.#retries.set(id, { failures, timer });
  }

  async #instanceContainers(id: string): Promise<ContainerSummary[]> {
    return this.#runtime.listContainers({ ...this.#ownLabels, [BERTH_LABELS.instance]: id });
  }

  /** Makes the instance's containers what it desires; false when its container would not start. */
  async #convergeInstance(id: string): Promise<boolean> {
    const containers = await this.#instanceContainers(id);
    const desired = this.#desired.get(id);
    if (desired === undefined) {
      // Before the first full set, an unknown container may still be wanted: adopt, don't judge.
      if (!this.#haveFullSet && !this.#actual.has(id)) return true;
      for (const container of containers) await this.#discard(container.id);
      if (this.#actual.has(id)) {
        this.#report(id, { ...emptyFields(), state: "removed" });
        this.#actual.delete(id);
      }
      return true;
    }
    const keep = pickCurrent(containers, desired.revision);
    let containerId = keep?.id ?? null;
    if (keep === undefined) {
      // Pull before touching the old container: if the pull fails, the old revision keeps running.
      const image = normalizeImageReference(desired.image);
      if (!(await this.#runtime.hasImage(image))) {
        this.#report(id, { ...this.#currentFields(id), state: "pulling", error: null });
        await this.#runtime.pullImage(image, await this.#credentialsFor(image));
      }
    }
    for (const container of containers) if (container !== keep) await this.#discard(container.id);
    if (containerId === null) {
      this.#report(id, { ...emptyFields(), state: "creating", revision: desired.revision });
      containerId = await this.#runtime.createContainer(this.#specFor(desired));
    }
    let details = await this.#runtime.inspectContainer(containerId);
    if (details !== null && desired.state === "running" && NOT_RUNNING.has(details.state)) {
      try {
        await this.#runtime.startContainer(containerId);
      } catch (error) {
        // The container stays (a retry starts it); the report names it and says why.
        this.#reportContainer(id, desired, await this.#runtime.inspectContainer(containerId), asError(error));
        return false;
      }
      details = await this.#runtime.inspectContainer(containerId);
    } else if (details !== null && desired.state === "stopped" && !NOT_RUNNING.has(details.state)) {
      await this.#runtime.stopContainer(containerId, this.#stopTimeout);
      details = await this.#runtime.inspectContainer(containerId);
    }
    this.#reportContainer(id, desired, details);
    return true;
  }

  /** Re-reads an instance's container after an event, without changing anything. */
  async #refreshInstance(id: string): Promise<void> {
    const desired = this.#desired.get(id);
    if (desired === undefined) return;
    const current = pickCurrent(await this.#instanceContainers(id), desired.revision);
    const details = current === undefined ? null : await this.#runtime.inspectContainer(current.id);
    this.#reportContainer(id, desired, details);
  }

  async #discard(containerId: string): Promise<void> {
    await this.#runtime.stopContainer(containerId, this.#stopTimeout);
    await this.#runtime.removeContainer(containerId);
  }

  #reportContainer(
    id: string,
    desired: DesiredInstance,
    details: ContainerDetails | null,
    startError: Error | null = null,
  ): void {
    if (details === null) {
      this.#report(id, { ...emptyFields(), state: "missing", error: startError?.message ?? null });
      return;
    }
    const error = startError?.message ?? details.error;
    const failed = error !== null && desired.state === "running" && NOT_RUNNING.has(details.state);
    this.#report(id, {
      state: failed ? "error" : actualState(details, desired),
      container_id: details.id,
      ip: details.ip,
      exit_code: details.exitCode,
      error,
      revision: details.labels[BERTH_LABELS.revision] ?? null,
      started_at: details.startedAt,
      health: null,
      health_output: null,
      port_ready: null,
      hooks_ran: [],
      hook_error: null,
    });
  }

  #reportError(id: string, error: Error): void {
    // Keeps the container id and revision last seen: the operator learns what still runs.
    this.#report(id, { ...this.#currentFields(id), state: "error", error: error.message });
  }

  #currentFields(id: string): ActualFields {
    const { id: _id, updated_at: _at, ...fields } = this.#actual.get(id) ?? { id, updated_at: "", ...emptyFields() };
    return fields;
  }

  #report(id: string, fields: ActualFields): void {
    const previous = this.#actual.get(id);
    if (previous !== undefined && sameFields(previous, fields)) return;
    const actual: ActualInstance = { id, ...fields, updated_at: new Date().toISOString() };
    this.#actual.set(id, actual);
    this.emit("actual", actual);
  }

  #onRuntimeEvent(event: RuntimeEvent): void {
    if (this.#closed) return;
    const instance = event.attributes[BERTH_LABELS.instance] ?? null;
    const exitCode = event.action === "die" ? Number.parseInt(event.attributes.exitCode ?? "", 10) : Number.NaN;
    this.emit("event", {
      instance,
      container_id: event.containerId,
      action: event.action,
      exit_code: Number.isNaN(exitCode) ? null : exitCode,
      time: event.time,
    });
    if (instance !== null && STATE_CHANGING_ACTIONS.has(event.action) && this.#desired.has(instance)) {
      this.#schedule(instance, "refresh");
    }
  }

  #specFor(desired: DesiredInstance): ContainerSpec {
    const berthLabels: Record<string, string> = {
      ...this.#ownLabels,
      [BERTH_LABELS.service]: desired.service,
      [BERTH_LABELS.instance]: desired.id,
      [BERTH_LABELS.revision]: desired.revision,
    };
    if (desired.stack !== null) berthLabels[BERTH_LABELS.stack] = desired.stack;
    return {
      name: desired.name,
      image: normalizeImageReference(desired.image),
      env: desired.env,
      cmd: desired.cmd,
      entrypoint: desired.entrypoint,
      user: desired.user,
      ports: desired.ports,
      volumes: desired.volumes,
      capAdd: desired.cap_add,
      capDrop: desired.cap_drop,
      memory: desired.memory,
      memorySwap: desired.memory_swap,
      cpuShares: desired.cpu_shares,
      logDriver: desired.log_driver,
      logOpts: desired.log_opts,
      // Berth's labels last: a desired label must not move a container to another grid, node or instance.
      labels: { ...desired.labels, ...berthLabels },
    };
  }
}

/** The container to keep: one created from the desired revision, a running one if there are several. */
function pickCurrent(containers: readonly ContainerSummary[], revision: string): ContainerSummary | undefined {
  const candidates = containers.filter(
    (container) => container.labels[BERTH_LABELS.revision] === revision && !GONE.has(container.state),
  );
  return candidates.find((container) => container.state === "running") ?? candidates[0];
}

function actualState(details: ContainerDetails, desired: DesiredInstance): ActualInstance["state"] {
  if (details.state === "created") return "stopped";
  // "restarting" is a crash loop between two runs (the engine restarts it): it does not run.
  if (NOT_RUNNING.has(details.state) || details.state === "removing" || details.state === "restarting") {
    // A container stopped on purpose is "stopped"; one that should run and does not has "exited".
    return desired.state === "stopped" ? "stopped" : "exited";
  }
  return "running";
}

function emptyFields(): ActualFields {
  return {
    state: "missing",
    container_id: null,
    ip: null,
    exit_code: null,
    error: null,
    revision: null,
    started_at: null,
    health: null,
    health_output: null,
    port_ready: null,
    hooks_ran: [],
    hook_error: null,
  };
}

function sameFields(actual: ActualInstance, fields: ActualFields): boolean {
  return (
    actual.state === fields.state &&
    actual.container_id === fields.container_id &&
    actual.ip === fields.ip &&
    actual.exit_code === fields.exit_code &&
    actual.error === fields.error &&
    actual.revision === fields.revision
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
