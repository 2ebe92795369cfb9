import { EventEmitter } from "node:events";
import { normalizeImageReference } from "../protocol/image-reference.ts";
import { type ActualInstance, BERTH_LABELS, type DesiredInstance } from "../protocol/instance-spec.ts";
import { ContainerNameConflictError } from "./container-name-conflict-error.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSpec,
  ContainerSummary,
  EventSubscription,
  RegistryAuth,
  RuntimeEvent,
} from "./container-runtime.ts";
import { InstanceMonitor, type MonitorFields } from "./instance-monitor.ts";
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
  /**
   * Instances converged at once (pulls and creates run in parallel up to this). Default 16: the
   * engine's starts are the bottleneck of a deploy, and each instance's own calls (list, create,
   * inspect) between them leave the engine idle unless enough instances are in flight.
   */
  readonly concurrency?: number;
  /** How long one post_start hook may run. Default 5 min. */
  readonly hookTimeoutMs?: number;
  /** How long wait_for_port probes a started container's port before reporting it never opened. Default 5 min. */
  readonly portWaitTimeoutMs?: number;
}

/** A container event of this node's containers, as the link forwards it to the master. */
export interface ContainerEventReport {
  /** io.berth.instance of the container; null for a node-labelled container without one. */
  readonly instance: string | null;
  readonly container_id: string;
  /** Docker's action: start, die, oom, destroy, stop, kill, pause…; the agent's own: unhealthy_restart. */
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
/** A container in these states ran and ended (a "created" one never ran; a "restarting" one the engine restarts). */
const DIED: ReadonlySet<string> = new Set(["exited", "dead"]);
const DEFAULT_RETRY_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };
const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_PORT_WAIT_TIMEOUT_MS = 5 * 60_000;
/** A container that ran this long after the agent last restarted it is no longer crash-looping. */
const CRASH_STABLE_MS = 60_000;

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

/**
 * Restarts of an instance whose container died while it should run: the first at once, then,
 * while it keeps dying soon after each restart, after growing delays (never a hot loop).
 */
interface CrashRestarts {
  /** Deaths in a row, each within CRASH_STABLE_MS of the restart before. */
  count: number;
  /** When the agent last started it again (ms). */
  restartedAt: number;
  /** The delay before the next restart, while it runs. */
  timer: NodeJS.Timeout | null;
  /** The delay has passed: the next converge restarts it. */
  due: boolean;
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
 *
 * Containers are kept as desired between changes too: one that dies while it should run is
 * started again (a crash loop with growing delays), one removed by hand is recreated, one that
 * fails its health check `unhealthy_threshold` times in a row is restarted, and one that started
 * before its `restart_requested_at` is restarted once. One created before its `pull_requested_at`
 * (every deploy sets it) has its image pulled once, and is recreated when the reference now
 * names a newer image. Each start of a container gets an InstanceMonitor: post_start hooks,
 * wait_for_port and the health check.
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
  readonly #hookTimeoutMs: number;
  readonly #portWaitTimeoutMs: number;

  readonly #desired = new Map<string, DesiredInstance>();
  readonly #actual = new Map<string, ActualInstance>();
  readonly #work = new Map<string, InstanceWork>();
  readonly #retries = new Map<string, InstanceRetry>();
  readonly #crashes = new Map<string, CrashRestarts>();
  /** The monitor of each instance's latest container start (closed once that container stopped). */
  readonly #monitors = new Map<string, InstanceMonitor>();
  /** Instance → the container its failing health check asks to restart. */
  readonly #unhealthy = new Map<string, string>();
  /** Instance → `<container id> <restart_requested_at>` already honoured, so clock skew cannot loop restarts. */
  readonly #restartsDone = new Map<string, string>();
  /** Instance → the pull_requested_at already acted on: one pull attempt per request. */
  readonly #pullsDone = new Map<string, string>();
  /** Instance → why the pull of its latest request failed, while the container it left running is current. */
  readonly #pullNotes = new Map<string, { readonly containerId: string; readonly note: string }>();
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
    this.#concurrency = options.concurrency ?? 16;
    this.#retryBackoff = options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
    this.#hookTimeoutMs = options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    this.#portWaitTimeoutMs = options.portWaitTimeoutMs ?? DEFAULT_PORT_WAIT_TIMEOUT_MS;
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
    for (const crash of this.#crashes.values()) clearTimeout(crash.timer ?? undefined);
    this.#crashes.clear();
    for (const monitor of this.#monitors.values()) monitor.close();
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
        await this.#discard(container.id, null);
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
      this.#forget(id);
      for (const container of containers) await this.#discard(container.id, id);
      if (this.#actual.has(id)) {
        this.#report(id, { ...emptyFields(), state: "removed" });
        this.#actual.delete(id);
      }
      return true;
    }
    let keep = pickCurrent(containers, desired.revision);
    // The same revision from a newer image under its reference: replaced like a revision change.
    if (keep !== undefined && (await this.#pulledNewerImage(id, desired, keep.id))) keep = undefined;
    let containerId = keep?.id ?? null;
    if (keep === undefined) {
      // Pull before touching the old container: if the pull fails, the old revision keeps running.
      const image = normalizeImageReference(desired.image);
      if (!(await this.#runtime.hasImage(image))) {
        this.#report(id, { ...this.#currentFields(id), state: "pulling", error: null });
        await this.#runtime.pullImage(image, await this.#credentialsFor(image));
      }
    }
    for (const container of containers) if (container !== keep) await this.#discard(container.id, id);
    if (containerId === null) {
      this.#report(id, { ...emptyFields(), state: "creating", revision: desired.revision });
      containerId = await this.#create(desired);
    }
    if (desired.state === "stopped") this.#forgetCrashes(id);
    let details = await this.#runtime.inspectContainer(containerId);
    if (details !== null && desired.state === "running" && NOT_RUNNING.has(details.state)) {
      // One that ran and died is a crash: started again at once, then with growing delays.
      const crashed = DIED.has(details.state) && details.startedAt !== null;
      if (crashed && !this.#crashRestartDue(id)) {
        this.#observe(id, desired, details);
        return true;
      }
      try {
        await this.#runtime.startContainer(containerId);
      } catch (error) {
        // The container stays (a retry starts it); the report names it and says why.
        this.#observe(id, desired, await this.#runtime.inspectContainer(containerId), asError(error));
        return false;
      }
      details = await this.#runtime.inspectContainer(containerId);
    } else if (details !== null && desired.state === "stopped" && !NOT_RUNNING.has(details.state)) {
      await this.#runtime.stopContainer(containerId, this.#stopTimeout);
      details = await this.#runtime.inspectContainer(containerId);
    } else if (details !== null && desired.state === "running" && this.#restartWanted(id, desired, details)) {
      await this.#runtime.stopContainer(containerId, this.#stopTimeout);
      await this.#runtime.startContainer(containerId);
      details = await this.#runtime.inspectContainer(containerId);
    }
    this.#observe(id, desired, details);
    return true;
  }

  /**
   * Creates the instance's container. The name may still be held by this instance's container of
   * another node on the same engine (the master moved the instance here while that node's agent
   * was away): that stale container is removed and the name taken. Any other holder is an error
   * naming it.
   */
  async #create(desired: DesiredInstance): Promise<string> {
    const spec = this.#specFor(desired);
    try {
      return await this.#runtime.createContainer(spec);
    } catch (error) {
      if (!(error instanceof ContainerNameConflictError)) throw error;
      const holder = await this.#runtime.inspectContainer(spec.name);
      if (holder === null) throw error;
      const labels = holder.labels;
      const movedHere =
        labels[BERTH_LABELS.grid] === this.#grid &&
        labels[BERTH_LABELS.instance] === desired.id &&
        labels[BERTH_LABELS.node] !== undefined &&
        labels[BERTH_LABELS.node] !== this.#nodeName;
      if (!movedHere) {
        const owner = labels[BERTH_LABELS.instance] === undefined ? "" : ` (instance ${labels[BERTH_LABELS.instance]})`;
        throw new ContainerNameConflictError(spec.name, holder.id, owner);
      }
      await this.#runtime.stopContainer(holder.id, this.#stopTimeout);
      await this.#runtime.removeContainer(holder.id);
      return await this.#runtime.createContainer(spec);
    }
  }

  /**
   * Whether the running container must be restarted now: its health check failed too often, or it
   * started before the instance's restart_requested_at (compared with the engine's StartedAt, so
   * a restarted agent does not restart it again; honoured once per container and request).
   */
  #restartWanted(id: string, desired: DesiredInstance, details: ContainerDetails): boolean {
    if (details.state !== "running") return false;
    if (this.#unhealthy.get(id) === details.id) {
      this.#unhealthy.delete(id);
      return true;
    }
    const requested = desired.restart_requested_at;
    if (requested === null || details.startedAt === null) return false;
    const done = `${details.id} ${requested}`;
    if (this.#restartsDone.get(id) === done || !(Date.parse(details.startedAt) < Date.parse(requested))) return false;
    this.#restartsDone.set(id, done);
    return true;
  }

  /**
   * Honours the instance's pull_requested_at once: a container created before it (the engine's
   * Created, so a restarted agent does not pull again for a container made since) has its image
   * pulled again; true when the reference now names another image than the container runs. A
   * failed pull leaves the container as it is, with a note in its report.
   */
  async #pulledNewerImage(id: string, desired: DesiredInstance, containerId: string): Promise<boolean> {
    const requested = desired.pull_requested_at;
    if (requested === null || desired.state !== "running" || this.#pullsDone.get(id) === requested) return false;
    this.#pullsDone.set(id, requested);
    const details = await this.#runtime.inspectContainer(containerId);
    if (details === null || !(Date.parse(details.createdAt) < Date.parse(requested))) return false;
    const image = normalizeImageReference(desired.image);
    try {
      await this.#runtime.pullImage(image, await this.#credentialsFor(image));
    } catch (error) {
      const note = `the pull requested at ${requested} failed, the container keeps its image: ${asError(error).message}`;
      this.#pullNotes.set(id, { containerId, note });
      return false;
    }
    this.#pullNotes.delete(id);
    const current = await this.#runtime.imageId(image);
    return current !== null && current !== details.imageId;
  }

  /** Whether an instance whose container died may be started now; if not, a later converge will. */
  #crashRestartDue(id: string): boolean {
    const now = Date.now();
    const crash = this.#crashes.get(id);
    if (crash?.due) {
      crash.due = false;
      crash.restartedAt = now;
      return true;
    }
    if (crash?.timer) return false;
    if (crash === undefined || now - crash.restartedAt > CRASH_STABLE_MS) {
      this.#crashes.set(id, { count: 0, restartedAt: now, timer: null, due: false });
      return true;
    }
    // Died again soon after the last restart: wait, longer each time.
    crash.count++;
    crash.timer = setTimeout(
      () => {
        crash.timer = null;
        crash.due = true;
        this.#schedule(id, "converge");
      },
      reconnectDelay(this.#retryBackoff, crash.count - 1),
    );
    crash.timer.unref();
    return false;
  }

  #forgetCrashes(id: string): void {
    clearTimeout(this.#crashes.get(id)?.timer ?? undefined);
    this.#crashes.delete(id);
  }

  /** The instance left the desired set: nothing of its containers is watched or remembered. */
  #forget(id: string): void {
    this.#forgetCrashes(id);
    this.#monitors.get(id)?.close();
    this.#monitors.delete(id);
    this.#unhealthy.delete(id);
    this.#restartsDone.delete(id);
    this.#pullsDone.delete(id);
    this.#pullNotes.delete(id);
  }

  /**
   * Re-reads an instance's container after an event, changing nothing itself; a container that
   * died while it should run, or that is gone, is handed to a converge (unless a retry is due).
   */
  async #refreshInstance(id: string): Promise<void> {
    const desired = this.#desired.get(id);
    if (desired === undefined) return;
    const current = pickCurrent(await this.#instanceContainers(id), desired.revision);
    const details = current === undefined ? null : await this.#runtime.inspectContainer(current.id);
    this.#observe(id, desired, details);
    const dead = details === null || (desired.state === "running" && DIED.has(details.state));
    if (dead && !this.#retries.has(id)) this.#schedule(id, "converge");
  }

  /** Stops and removes a container (of instance `id`, whose monitor of it ends). */
  async #discard(containerId: string, id: string | null): Promise<void> {
    const monitor = id === null ? undefined : this.#monitors.get(id);
    if (monitor?.containerId === containerId) monitor.close();
    await this.#runtime.stopContainer(containerId, this.#stopTimeout);
    await this.#runtime.removeContainer(containerId);
  }

  /** Reports what the engine says of the instance's container, with what its monitor found. */
  #observe(
    id: string,
    desired: DesiredInstance,
    details: ContainerDetails | null,
    startError: Error | null = null,
  ): void {
    if (details === null) {
      this.#monitors.get(id)?.close();
      this.#monitors.delete(id);
      this.#report(id, { ...emptyFields(), state: "missing", error: startError?.message ?? null });
      return;
    }
    const monitor = this.#syncMonitor(id, desired, details);
    const watched = monitor !== undefined && !monitor.closed;
    const error = startError?.message ?? details.error ?? (watched ? monitor.problem() : null);
    const failed = error !== null && desired.state === "running" && NOT_RUNNING.has(details.state);
    // A failed pull is only a note: the container it left is as desired otherwise.
    const pullNote = this.#pullNotes.get(id);
    this.#report(id, {
      state: failed ? "error" : actualState(details, desired),
      container_id: details.id,
      ip: details.ip,
      exit_code: details.exitCode,
      error: error ?? (pullNote?.containerId === details.id ? pullNote.note : null),
      revision: details.labels[BERTH_LABELS.revision] ?? null,
      started_at: details.startedAt,
      ...(watched ? monitor.fields() : unwatchedFields(desired, monitor)),
    });
  }

  /**
   * The monitor of the container's current start: a new one for each start of a running container
   * that should run; closed (keeping its hook results) while it does not run. A container already
   * running when the converger first meets its instance is adopted: its hooks ran when it started.
   */
  #syncMonitor(id: string, desired: DesiredInstance, details: ContainerDetails): InstanceMonitor | undefined {
    let monitor = this.#monitors.get(id);
    if (monitor !== undefined && monitor.containerId !== details.id) {
      monitor.close();
      this.#monitors.delete(id);
      monitor = undefined;
    }
    if (details.state !== "running" || desired.state !== "running" || this.#closed) {
      monitor?.close();
      return monitor;
    }
    const host = desired.net === "host" ? "127.0.0.1" : details.ip;
    if (monitor !== undefined && !monitor.closed && monitor.startedAt === details.startedAt) {
      monitor.update(desired, host);
      return monitor;
    }
    monitor?.close();
    const created: InstanceMonitor = new InstanceMonitor({
      runtime: this.#runtime,
      desired,
      containerId: details.id,
      startedAt: details.startedAt,
      host,
      runHooks: this.#actual.has(id),
      hookTimeoutMs: this.#hookTimeoutMs,
      portWaitTimeoutMs: this.#portWaitTimeoutMs,
      onChange: () => this.#monitorChanged(id, created),
      onUnhealthy: (reason) => this.#restartUnhealthy(id, created, reason),
    });
    this.#monitors.set(id, created);
    return created;
  }

  /** A monitor found something (a check, a hook, the port): reported at once, between container operations. */
  #monitorChanged(id: string, monitor: InstanceMonitor): void {
    if (this.#closed || monitor.closed || this.#monitors.get(id) !== monitor) return;
    const fields = this.#currentFields(id);
    if (fields.container_id !== monitor.containerId) return;
    this.#report(id, { ...fields, ...monitor.fields(), error: fields.error ?? monitor.problem() });
  }

  #restartUnhealthy(id: string, monitor: InstanceMonitor, reason: string): void {
    if (this.#closed || monitor.closed || this.#monitors.get(id) !== monitor) return;
    this.#unhealthy.set(id, monitor.containerId);
    this.emit("event", {
      instance: id,
      container_id: monitor.containerId,
      action: "unhealthy_restart",
      exit_code: null,
      time: new Date().toISOString(),
    });
    this.#report(id, { ...this.#currentFields(id), health: "critical", health_output: `restarting: ${reason}` });
    this.#schedule(id, "converge");
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
      networkMode: desired.net,
      volumes: desired.volumes,
      volumesFrom: desired.volumes_from,
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

/**
 * Monitor fields of a container that is not watched (it does not run, or should not): a health
 * check or port wait of an instance that should run fails; hooks of its last start stay reported.
 */
function unwatchedFields(desired: DesiredInstance, last: InstanceMonitor | undefined): MonitorFields {
  const shouldRun = desired.state === "running";
  const checked = shouldRun && desired.health_check !== null;
  return {
    health: checked ? "critical" : null,
    health_output: checked ? "the container is not running" : null,
    port_ready: shouldRun && desired.wait_for_port !== null ? false : null,
    ...(last?.hookFields() ?? { hooks_ran: [], hook_error: null }),
  };
}

function sameFields(actual: ActualInstance, fields: ActualFields): boolean {
  return (
    actual.state === fields.state &&
    actual.container_id === fields.container_id &&
    actual.ip === fields.ip &&
    actual.exit_code === fields.exit_code &&
    actual.error === fields.error &&
    actual.revision === fields.revision &&
    actual.started_at === fields.started_at &&
    actual.health === fields.health &&
    actual.health_output === fields.health_output &&
    actual.port_ready === fields.port_ready &&
    actual.hook_error === fields.hook_error &&
    actual.hooks_ran.length === fields.hooks_ran.length &&
    actual.hooks_ran.every((name, index) => name === fields.hooks_ran[index])
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
