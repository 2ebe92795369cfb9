import { createHash } from "node:crypto";
import { normalizeImageReference } from "../protocol/image-reference.ts";
import { BERTH_LABELS } from "../protocol/instance-spec.ts";
import { ContainerNameConflictError } from "./container-name-conflict-error.ts";
import type {
  ContainerDetails,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  EventSubscription,
  ExecResult,
  RegistryAuth,
  RuntimeEventHandlers,
  RuntimeInfo,
} from "./container-runtime.ts";
import { ImagePullError } from "./image-pull-error.ts";

/** An image the simulated registry serves; with credentials, only to a pull that presents them. */
export interface SimulatedImage {
  readonly reference: string;
  /** Its image id; by default one derived from the reference, the same as a local image of that reference has. */
  readonly id?: string;
  readonly credentials?: { readonly username: string; readonly password: string };
}

export interface SimulatedRuntimeOptions {
  /** Images a pull can fetch. */
  readonly registry?: readonly SimulatedImage[];
  /** Images present from the start, as if pulled before. */
  readonly localImages?: readonly string[];
  /** What an exec in a running container does; default: succeeds at once with no output. */
  readonly exec?: (containerId: string, argv: readonly string[]) => ExecResult | Promise<ExecResult>;
}

interface SimulatedContainer {
  readonly id: string;
  readonly spec: ContainerSpec;
  readonly imageId: string;
  readonly createdAt: string;
  state: ContainerState;
  ip: string | null;
  exitCode: number | null;
  startedAt: string | null;
}

interface Subscription {
  readonly labels: Readonly<Record<string, string>>;
  readonly handlers: RuntimeEventHandlers;
}

/** Exit code of a process ended by SIGTERM, as Docker reports a graceful stop. */
const SIGTERM_EXIT = 143;

/**
 * An in-memory engine for scale benchmarks (a thousand agents, a hundred thousand
 * instances in one process): containers are records, images are names, a started
 * container runs until stopped or `simulateExit`. Every operation yields one event-loop
 * turn, so concurrent callers interleave as they would against a real engine; ids and
 * addresses come from counters, so a run is reproducible.
 */
export class SimulatedRuntime implements ContainerRuntime {
  readonly #registry: Map<string, SimulatedImage>;
  /** Local images: reference → image id. */
  readonly #images: Map<string, string>;
  readonly #containers = new Map<string, SimulatedContainer>();
  /**
   * Containers by io.berth.instance: the converger lists one instance's containers per step,
   * and a scan of every container each time would make a large node quadratic.
   */
  readonly #byInstance = new Map<string, Set<SimulatedContainer>>();
  /** Container ids by name. */
  readonly #names = new Map<string, string>();
  readonly #exec: NonNullable<SimulatedRuntimeOptions["exec"]>;
  readonly #subscriptions = new Set<Subscription>();
  #nextContainer = 1;
  #nextAddress = 2;

  constructor(options: SimulatedRuntimeOptions = {}) {
    this.#registry = new Map(
      (options.registry ?? []).map((image) => [normalizeImageReference(image.reference), image]),
    );
    this.#images = new Map(
      (options.localImages ?? []).map((image) => {
        const reference = normalizeImageReference(image);
        return [reference, defaultImageId(reference)];
      }),
    );
    this.#exec = options.exec ?? (() => ({ exitCode: 0, output: "" }));
  }

  async info(): Promise<RuntimeInfo> {
    await turn();
    return {
      id: "SIMULATED",
      name: "simulated",
      os: "Simulated Linux",
      kernelVersion: "0.0.0-simulated",
      serverVersion: "0.0.0-simulated",
      storageDriver: "memory",
      cpus: 1,
      memory: 1024 ** 3,
      rootDir: "/",
      networkPlugins: ["bridge"],
      volumePlugins: ["local"],
    };
  }

  async hasImage(image: string): Promise<boolean> {
    await turn();
    return this.#images.has(normalizeImageReference(image));
  }

  async imageId(image: string): Promise<string | null> {
    await turn();
    return this.#images.get(normalizeImageReference(image)) ?? null;
  }

  async pullImage(image: string, auth: RegistryAuth | null): Promise<void> {
    await turn();
    const reference = normalizeImageReference(image);
    const served = this.#registry.get(reference);
    if (served === undefined) throw new ImagePullError(image, `manifest for ${reference} not found`);
    const required = served.credentials;
    if (required !== undefined && (auth?.username !== required.username || auth.password !== required.password)) {
      throw new ImagePullError(image, "unauthorized: authentication required");
    }
    this.#images.set(reference, served.id ?? defaultImageId(reference));
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    await turn();
    const instance = labels[BERTH_LABELS.instance];
    const candidates = instance === undefined ? this.#containers.values() : (this.#byInstance.get(instance) ?? []);
    return [...candidates]
      .filter((container) => hasLabels(container.spec.labels, labels))
      .map((container) => summary(container));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    await turn();
    const container = this.#containers.get(this.#names.get(idOrName) ?? idOrName);
    if (container === undefined) return null;
    return {
      ...summary(container),
      ip: container.ip,
      exitCode: container.exitCode,
      error: null,
      startedAt: container.startedAt,
      createdAt: container.createdAt,
      imageId: container.imageId,
    };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    await turn();
    const imageId = this.#images.get(normalizeImageReference(spec.image));
    if (imageId === undefined) throw new Error(`No such image: ${spec.image}`);
    const holder = this.#names.get(spec.name);
    if (holder !== undefined) throw new ContainerNameConflictError(spec.name, holder);
    const id = (this.#nextContainer++).toString(16).padStart(64, "0");
    const container: SimulatedContainer = {
      id,
      spec,
      imageId,
      createdAt: new Date().toISOString(),
      state: "created",
      ip: null,
      exitCode: null,
      startedAt: null,
    };
    this.#containers.set(id, container);
    this.#names.set(spec.name, id);
    const instance = spec.labels[BERTH_LABELS.instance];
    if (instance !== undefined) {
      const siblings = this.#byInstance.get(instance) ?? new Set();
      siblings.add(container);
      this.#byInstance.set(instance, siblings);
    }
    this.#emit("create", container);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    await turn();
    const container = this.#require(id);
    if (container.state === "running") return;
    container.state = "running";
    container.exitCode = null;
    // Like Docker: a container on the host's network, or on none, has no address of its own.
    if (container.spec.networkMode === "host" || container.spec.networkMode === "none") container.ip = null;
    else {
      const address = this.#nextAddress++;
      container.ip = `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
    }
    // Docker's StartedAt has nanoseconds: two starts never share one. Here a later start gets a later millisecond.
    const previous = container.startedAt === null ? 0 : Date.parse(container.startedAt);
    container.startedAt = new Date(Math.max(Date.now(), previous + 1)).toISOString();
    this.#emit("start", container);
  }

  async stopContainer(id: string, _timeoutSeconds: number): Promise<void> {
    await turn();
    const container = this.#containers.get(id);
    if (container?.state !== "running") return;
    this.#exit(container, SIGTERM_EXIT);
    this.#emit("stop", container);
  }

  async removeContainer(id: string): Promise<void> {
    await turn();
    const container = this.#containers.get(id);
    if (container === undefined) return;
    if (container.state === "running") this.#exit(container, 137);
    this.#containers.delete(id);
    this.#names.delete(container.spec.name);
    const instance = container.spec.labels[BERTH_LABELS.instance];
    const siblings = instance === undefined ? undefined : this.#byInstance.get(instance);
    siblings?.delete(container);
    if (instance !== undefined && siblings?.size === 0) this.#byInstance.delete(instance);
    this.#emit("destroy", container);
  }

  async exec(id: string, argv: readonly string[], _timeoutMs: number): Promise<ExecResult> {
    await turn();
    const container = this.#require(id);
    if (container.state !== "running") throw new Error(`container ${id} is not running`);
    return this.#exec(id, argv);
  }

  /** The spec a container was created from (its network mode, env…), as the engine recorded it. */
  specOf(id: string): ContainerSpec | null {
    return this.#containers.get(id)?.spec ?? null;
  }

  watchEvents(labels: Readonly<Record<string, string>>, handlers: RuntimeEventHandlers): EventSubscription {
    const subscription: Subscription = { labels, handlers };
    this.#subscriptions.add(subscription);
    setImmediate(() => {
      if (this.#subscriptions.has(subscription)) handlers.onConnect();
    });
    return { close: () => this.#subscriptions.delete(subscription) };
  }

  /** Fault injection: the container's process ends with this code, as a crash would. */
  simulateExit(id: string, exitCode: number): void {
    const container = this.#require(id);
    if (container.state === "running") this.#exit(container, exitCode);
  }

  #exit(container: SimulatedContainer, exitCode: number): void {
    container.state = "exited";
    container.ip = null;
    container.exitCode = exitCode;
    this.#emit("die", container, { exitCode: String(exitCode) });
  }

  #require(id: string): SimulatedContainer {
    const container = this.#containers.get(id);
    if (container === undefined) throw new Error(`No such container: ${id}`);
    return container;
  }

  #emit(action: string, container: SimulatedContainer, extra: Record<string, string> = {}): void {
    const event = {
      action,
      containerId: container.id,
      attributes: { ...container.spec.labels, name: container.spec.name, image: container.spec.image, ...extra },
      time: new Date().toISOString(),
    };
    for (const subscription of this.#subscriptions) {
      if (hasLabels(container.spec.labels, subscription.labels)) {
        // Engines deliver events asynchronously, after the call that caused them has returned.
        setImmediate(() => {
          if (this.#subscriptions.has(subscription)) subscription.handlers.onEvent(event);
        });
      }
    }
  }
}

function summary(container: SimulatedContainer): ContainerSummary {
  return { id: container.id, name: container.spec.name, labels: container.spec.labels, state: container.state };
}

function hasLabels(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function defaultImageId(reference: string): string {
  return `sha256:${createHash("sha256").update(reference).digest("hex")}`;
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
