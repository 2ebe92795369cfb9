import { once } from "node:events";
import { type Readable, Writable } from "node:stream";
import Docker from "dockerode";
import { z } from "zod";
import { pullTarget } from "../protocol/image-reference.ts";
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
import { dockerClientOptions } from "./docker-endpoint.ts";
import { followProgress } from "./docker-progress.ts";
import { ImagePullError } from "./image-pull-error.ts";

// What the Engine API answers, checked: only the fields the agent reads.
const labelsSchema = z
  .record(z.string(), z.string())
  .nullish()
  .transform((labels) => labels ?? {});
const stateSchema = z.enum(["created", "running", "paused", "restarting", "removing", "exited", "dead"]);

const infoSchema = z.object({
  ID: z.string(),
  Name: z.string(),
  OperatingSystem: z.string(),
  KernelVersion: z.string(),
  ServerVersion: z.string(),
  Driver: z.string(),
  NCPU: z.number(),
  MemTotal: z.number(),
  DockerRootDir: z.string(),
  Plugins: z.object({
    Network: z
      .array(z.string())
      .nullish()
      .transform((plugins) => plugins ?? []),
    Volume: z
      .array(z.string())
      .nullish()
      .transform((plugins) => plugins ?? []),
  }),
});

const listedContainerSchema = z.object({
  Id: z.string(),
  Names: z.array(z.string()),
  Labels: labelsSchema,
  State: stateSchema,
});

const inspectedContainerSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Created: z.string(),
  Image: z.string(),
  Config: z.object({ Labels: labelsSchema }),
  State: z.object({
    Status: stateSchema,
    ExitCode: z.number(),
    Error: z.string(),
    StartedAt: z.string(),
  }),
  NetworkSettings: z.object({
    IPAddress: z.string().nullish(),
    Networks: z.record(z.string(), z.object({ IPAddress: z.string().nullish() })).nullish(),
  }),
});

const eventSchema = z.object({
  Type: z.string(),
  Action: z.string(),
  Actor: z.object({
    ID: z.string(),
    Attributes: z
      .record(z.string(), z.string())
      .nullish()
      .transform((attributes) => attributes ?? {}),
  }),
  timeNano: z.number(),
});

const execInspectSchema = z.object({ Running: z.boolean(), ExitCode: z.number().nullable() });

/** Docker's zero time, which it reports as StartedAt of a never-started container. */
const NEVER = "0001-01-01T00:00:00Z";
/** How long to wait before following events again after the stream broke. */
const EVENT_RETRY_MS = 1000;
/** An exec's output kept: its tail, which is where failures explain themselves. */
const EXEC_OUTPUT_CHARS = 16_384;
/** Between the end of an exec's output and the engine recording its exit code. */
const EXEC_EXIT_POLL_MS = 20;

/**
 * The real runtime: the Docker Engine API over the local socket (or `--docker` URL), through
 * dockerode. Containers get the restart policy `unless-stopped`, so the engine restarts a
 * crashed one with its own back-off even while the agent is down, and leaves one the agent
 * stopped alone.
 */
export class DockerRuntime implements ContainerRuntime {
  readonly #docker: Docker;

  /** `endpoint`: `unix:///var/run/docker.sock` (default) or `tcp://host:port`. */
  constructor(endpoint?: string) {
    this.#docker = new Docker(dockerClientOptions(endpoint));
  }

  async info(): Promise<RuntimeInfo> {
    const info = infoSchema.parse(await this.#docker.info());
    return {
      id: info.ID,
      name: info.Name,
      os: info.OperatingSystem,
      kernelVersion: info.KernelVersion,
      serverVersion: info.ServerVersion,
      storageDriver: info.Driver,
      cpus: info.NCPU,
      memory: info.MemTotal,
      rootDir: info.DockerRootDir,
      networkPlugins: info.Plugins.Network,
      volumePlugins: info.Plugins.Volume,
    };
  }

  async hasImage(image: string): Promise<boolean> {
    return (await this.imageId(image)) !== null;
  }

  async imageId(image: string): Promise<string | null> {
    try {
      return z.object({ Id: z.string() }).parse(await this.#docker.getImage(image).inspect()).Id;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async pullImage(image: string, auth: RegistryAuth | null): Promise<void> {
    const { repository, tag } = pullTarget(image);
    let failure: string | null;
    try {
      const stream = await this.#docker.createImage({
        fromImage: repository,
        tag,
        ...(auth === null ? {} : { authconfig: { ...auth } }),
      });
      failure = await followProgress(this.#docker, stream);
    } catch (error) {
      throw new ImagePullError(image, engineMessage(error));
    }
    if (failure !== null) throw new ImagePullError(image, failure);
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const listed = await this.#docker.listContainers({ all: true, filters: { label: labelFilters(labels) } });
    return z
      .array(listedContainerSchema)
      .parse(listed)
      .map((container) => ({
        id: container.Id,
        name: (container.Names[0] ?? "").replace(/^\//, ""),
        labels: container.Labels,
        state: container.State,
      }));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | null> {
    let raw: unknown;
    try {
      raw = await this.#docker.getContainer(idOrName).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
    const container = inspectedContainerSchema.parse(raw);
    const networks = Object.values(container.NetworkSettings.Networks ?? {});
    const ip = container.NetworkSettings.IPAddress || networks.find((network) => network.IPAddress)?.IPAddress || null;
    const state: ContainerState = container.State.Status;
    return {
      id: container.Id,
      name: container.Name.replace(/^\//, ""),
      labels: container.Config.Labels,
      state,
      ip,
      exitCode: state === "exited" || state === "dead" || state === "restarting" ? container.State.ExitCode : null,
      error: container.State.Error || null,
      startedAt: container.State.StartedAt === NEVER ? null : container.State.StartedAt,
      createdAt: container.Created,
      imageId: container.Image,
    };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const container = await this.#docker.createContainer(createOptions(spec));
      return container.id;
    } catch (error) {
      if (statusOf(error) === 409) throw new ContainerNameConflictError(spec.name, null);
      throw new Error(engineMessage(error));
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.#tolerate(() => this.#docker.getContainer(id).start(), [304]);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.#tolerate(() => this.#docker.getContainer(id).stop({ t: timeoutSeconds }), [304, 404]);
  }

  async removeContainer(id: string): Promise<void> {
    await this.#tolerate(() => this.#docker.getContainer(id).remove({ force: true, v: true }), [404]);
  }

  async exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    const deadline = Date.now() + timeoutMs;
    let output = "";
    // Docker multiplexes stdout and stderr on one stream without a TTY; both go to the same tail.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output = (output + chunk.toString("utf8")).slice(-EXEC_OUTPUT_CHARS);
        done();
      },
    });
    const timeout = AbortSignal.timeout(timeoutMs);
    let exec: Docker.Exec;
    let stream: NodeJS.ReadWriteStream;
    try {
      exec = await this.#docker.getContainer(id).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
      stream = await exec.start({ hijack: true, stdin: false, abortSignal: timeout });
    } catch (error) {
      if (timeout.aborted) return { exitCode: null, output };
      throw new Error(engineMessage(error));
    }
    this.#docker.modem.demuxStream(stream, sink, sink);
    // Whichever comes first; the others' listeners are removed by aborting `waited`.
    const waited = new AbortController();
    const { signal } = waited;
    await Promise.race([
      once(stream, "end", { signal }),
      once(stream, "close", { signal }),
      once(timeout, "abort", { signal }),
    ])
      .catch(() => {})
      .finally(() => waited.abort());
    if (timeout.aborted) {
      (stream as unknown as Readable).destroy();
      return { exitCode: null, output };
    }
    // The output ends just before the engine records the exit code: ask until it has.
    for (;;) {
      const state = execInspectSchema.parse(await exec.inspect());
      if (!state.Running) return { exitCode: state.ExitCode, output };
      if (Date.now() > deadline) return { exitCode: null, output };
      await delay(EXEC_EXIT_POLL_MS, timeout);
    }
  }

  watchEvents(labels: Readonly<Record<string, string>>, handlers: RuntimeEventHandlers): EventSubscription {
    const controller = new AbortController();
    // Resume from the last event seen, so a reconnect misses nothing the engine still holds.
    let since = Math.floor(Date.now() / 1000);
    const follow = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          const stream = (await this.#docker.getEvents({
            since,
            filters: { type: ["container"], label: labelFilters(labels) },
            abortSignal: controller.signal,
          })) as Readable;
          handlers.onConnect();
          for await (const line of jsonLines(stream)) {
            const event = eventSchema.safeParse(line);
            if (!event.success) continue;
            since = Math.floor(event.data.timeNano / 1e9);
            handlers.onEvent({
              action: event.data.Action,
              containerId: event.data.Actor.ID,
              attributes: event.data.Actor.Attributes,
              time: new Date(event.data.timeNano / 1e6).toISOString(),
            });
          }
          if (!controller.signal.aborted) handlers.onError(new Error("Docker event stream ended"));
        } catch (error) {
          if (controller.signal.aborted) return;
          handlers.onError(error instanceof Error ? error : new Error(String(error)));
        }
        await delay(EVENT_RETRY_MS, controller.signal);
      }
    };
    void follow();
    return { close: () => controller.abort() };
  }

  async #tolerate(operation: () => Promise<unknown>, statuses: readonly number[]): Promise<void> {
    try {
      await operation();
    } catch (error) {
      const status = statusOf(error);
      if (status !== undefined && statuses.includes(status)) return;
      throw new Error(engineMessage(error));
    }
  }
}

function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.container_port}/${port.protocol}`;
    exposedPorts[key] = {};
    // No node_port: exposed only; 0: published on a port the engine picks.
    if (port.node_port === undefined) continue;
    const bindings = portBindings[key] ?? [];
    bindings.push({ HostIp: port.ip ?? "", HostPort: port.node_port === 0 ? "" : String(port.node_port) });
    portBindings[key] = bindings;
  }
  // `docker run -v` semantics: a bare path is an anonymous volume, `source:target[:mode]` a bind or named volume.
  const anonymousVolumes = Object.fromEntries(spec.volumes.filter((v) => !v.includes(":")).map((v) => [v, {}]));
  const binds = spec.volumes.filter((v) => v.includes(":"));
  return {
    name: spec.name,
    Image: spec.image,
    Env: [...spec.env],
    Cmd: spec.cmd === null ? undefined : [...spec.cmd],
    Entrypoint: spec.entrypoint === null ? undefined : [...spec.entrypoint],
    User: spec.user ?? undefined,
    Labels: { ...spec.labels },
    ExposedPorts: exposedPorts,
    Volumes: anonymousVolumes,
    HostConfig: {
      NetworkMode: spec.networkMode,
      PortBindings: portBindings,
      Binds: binds,
      VolumesFrom: spec.volumesFrom.length === 0 ? undefined : [...spec.volumesFrom],
      CapAdd: [...spec.capAdd],
      CapDrop: [...spec.capDrop],
      Memory: spec.memory ?? undefined,
      MemorySwap: spec.memorySwap ?? undefined,
      CpuShares: spec.cpuShares ?? undefined,
      LogConfig: spec.logDriver === null ? undefined : { Type: spec.logDriver, Config: { ...spec.logOpts } },
      RestartPolicy: { Name: "unless-stopped" },
    },
  };
}

function labelFilters(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own message rather than dockerode's wrapper, `(HTTP code 500) server error - <message> `. */
function engineMessage(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  const message = (json as { message?: unknown } | null)?.message;
  if (typeof message === "string") return message;
  const text = error instanceof Error ? error.message : String(error);
  return /^\(HTTP code \d+\) [^-]*- ([\s\S]*?)\s*$/.exec(text)?.[1] ?? text;
}

async function* jsonLines(stream: Readable): AsyncGenerator<unknown> {
  let buffer = "";
  for await (const chunk of stream) {
    buffer += String(chunk);
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") {
        try {
          yield JSON.parse(line);
        } catch {
          // A line that is not JSON is not an event; the next one may be.
        }
      }
      newline = buffer.indexOf("\n");
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
