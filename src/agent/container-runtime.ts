import type { DesiredInstance } from "../protocol/instance-spec.ts";
import type { RegistryCredentials } from "../protocol/link-messages.ts";

/**
 * What the agent needs from a container engine, and nothing more. Two implementations:
 * DockerRuntime (the real one, Engine API) and SimulatedRuntime (in memory, for scale
 * benchmarks). The converger only talks to this interface, so both run the same logic;
 * features are proven on Docker, never on the simulator.
 */
export interface ContainerRuntime {
  /** Engine facts for the node record. */
  info(): Promise<RuntimeInfo>;
  /** Whether the image (normalized reference, e.g. `busybox:latest`) is present locally. */
  hasImage(image: string): Promise<boolean>;
  /** The local image id (`sha256:…`) the reference names now, or null when it is not present. */
  imageId(image: string): Promise<string | null>;
  /** Pulls an image; throws ImagePullError with the registry's reason (unauthorized, not found…). */
  pullImage(image: string, auth: RegistryAuth | null): Promise<void>;
  /** Every container, running or not, carrying all the given labels. */
  listContainers(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]>;
  /** Details of one container (by id, or by name), or null when it no longer exists. */
  inspectContainer(idOrName: string): Promise<ContainerDetails | null>;
  /** Creates (does not start) a container; returns its id. Throws ContainerNameConflictError when the name is taken. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Starts a container; starting a running one is not an error. */
  startContainer(id: string): Promise<void>;
  /** Stops gracefully (SIGTERM, then SIGKILL after the timeout); a stopped or missing one is not an error. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes a container and its anonymous volumes, killing it if it runs; a missing one is not an error. */
  removeContainer(id: string): Promise<void>;
  /**
   * Runs argv in a running container (no TTY, no stdin) and waits for it at most `timeoutMs`;
   * throws when the container cannot run it (not running, gone).
   */
  exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult>;
  /**
   * Follows container events for containers carrying all the given labels, until closed.
   * Implementations reconnect by themselves; `onError` hears about a broken stream.
   */
  watchEvents(labels: Readonly<Record<string, string>>, handlers: RuntimeEventHandlers): EventSubscription;
}

/** Credentials for one pull, as Docker's X-Registry-Auth takes them (the link's shape). Never logged. */
export type RegistryAuth = RegistryCredentials;

/** Everything Docker needs to create an instance's container; labels are final (the converger adds Berth's). */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly env: readonly string[];
  readonly cmd: readonly string[] | null;
  readonly entrypoint: readonly string[] | null;
  readonly user: string | null;
  readonly ports: readonly DesiredInstance["ports"][number][];
  /** Docker's network mode: bridge, host, none or container:<name>. */
  readonly networkMode: string;
  readonly volumes: readonly string[];
  /** Names of containers whose volumes are mounted too. */
  readonly volumesFrom: readonly string[];
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly memory: number | null;
  readonly memorySwap: number | null;
  readonly cpuShares: number | null;
  readonly logDriver: string | null;
  readonly logOpts: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** How an exec ended: its exit code (null when it outlived its timeout) and its output, the tail if long. */
export interface ExecResult {
  readonly exitCode: number | null;
  /** stdout and stderr interleaved as they came. */
  readonly output: string;
}

/** Docker's container states. */
export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: ContainerState;
}

export interface ContainerDetails extends ContainerSummary {
  /** First network's address; null when not running or on no network. */
  readonly ip: string | null;
  /** Exit code of the last run while it does not run (exited, dead, restarting); else null. */
  readonly exitCode: number | null;
  /** Docker's own error text for the last start (e.g. an executable not found). */
  readonly error: string | null;
  readonly startedAt: string | null;
  /** When the container was created (ISO-8601, the engine's clock). */
  readonly createdAt: string;
  /** Id of the image it was created from (`sha256:…`), whatever its reference names since. */
  readonly imageId: string;
}

/** A container event (die, start, oom, destroy…), filtered to the labels asked for. */
export interface RuntimeEvent {
  readonly action: string;
  readonly containerId: string;
  /** The container's labels (and, for Docker, its name, image and exitCode attributes). */
  readonly attributes: Readonly<Record<string, string>>;
  /** ISO-8601, from the engine's clock. */
  readonly time: string;
}

export interface RuntimeEventHandlers {
  onEvent(event: RuntimeEvent): void;
  onError(error: Error): void;
  /** The stream (re)connected; events may have been missed before it, so callers resync. */
  onConnect(): void;
}

export interface EventSubscription {
  close(): void;
}

/** Engine facts, named after Docker's `info`. */
export interface RuntimeInfo {
  readonly id: string;
  readonly name: string;
  readonly os: string;
  readonly kernelVersion: string;
  readonly serverVersion: string;
  readonly storageDriver: string;
  readonly cpus: number;
  readonly memory: number;
  readonly rootDir: string;
  readonly networkPlugins: readonly string[];
  readonly volumePlugins: readonly string[];
}
