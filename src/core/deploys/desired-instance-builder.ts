import { createHash } from "node:crypto";
import { type DesiredInstance, desiredInstanceSchema } from "../../protocol/instance-spec.ts";
import { containerName } from "../scheduler/placement-grid.ts";
import { instanceId, type StoredService } from "../services/service-record.ts";
import type { StoredStack } from "../stacks/stack-record.ts";

/** What a service's instances are built from besides the service record itself. */
export interface BuildContext {
  /** Revision of the containers (serviceRevision). */
  readonly revision: string;
  /** The stack's named volumes (name → grid volume), empty for a stackless service. */
  readonly volumes: ReadonlyMap<string, string>;
}

export function stackVolumes(stack: StoredStack | undefined): ReadonlyMap<string, string> {
  return new Map((stack?.volumes ?? []).map((volume) => [volume.name, volume.external]));
}

/** A stack's named volume (`data:/var/lib/x`) is the grid volume it declares as external. */
function mapVolume(spec: string, volumes: ReadonlyMap<string, string>): string {
  const colon = spec.indexOf(":");
  if (colon <= 0) return spec;
  const external = volumes.get(spec.slice(0, colon));
  return external === undefined ? spec : `${external}${spec.slice(colon)}`;
}

/**
 * A volumes_from entry names another service's instance of the same stack, Kontena style:
 * `data-%s` is instance N of `data` for instance N of this service, `data-1` a fixed one.
 */
function volumesFromContainer(stack: string | null, source: string, number: number): string {
  const name = source.replaceAll("%s", String(number));
  return stack === null ? name : `${stack}.${name}`;
}

/** The fields that make a container: a change to any of them needs a new container. */
function containerFields(service: StoredService, volumes: ReadonlyMap<string, string>) {
  const { spec } = service;
  return {
    image: spec.image,
    env: [...spec.env],
    cmd: spec.cmd ?? null,
    entrypoint: spec.entrypoint ?? null,
    user: spec.user ?? null,
    ports: spec.ports.map((port) => ({
      container_port: port.container_port,
      node_port: port.node_port,
      protocol: port.protocol,
      ip: port.ip,
    })),
    net: spec.net,
    volumes: spec.volumes.map((volume) => mapVolume(volume, volumes)),
    // As written: each instance resolves its own names (buildDesiredInstance), from these.
    volumes_from: [...spec.volumes_from],
    cap_add: [...spec.cap_add],
    cap_drop: [...spec.cap_drop],
    memory: spec.memory ?? null,
    memory_swap: spec.memory_swap ?? null,
    cpu_shares: spec.cpu_shares ?? null,
    log_driver: spec.log_driver ?? null,
    log_opts: Object.fromEntries(Object.entries(spec.log_opts ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    labels: {},
    secrets: spec.secrets.map((secret) => ({ secret: secret.secret, name: secret.name })),
  };
}

/**
 * The revision of a service's containers: a hash of what defines them, the service's deploy
 * generation (a forced deploy bumps it) and the store revision of every secret they use, so a
 * changed secret value means new containers. Health checks, hooks, wait_for_port and the
 * restart and pull requests are left out: the agent applies those to the running container.
 */
export function serviceRevision(
  service: StoredService,
  volumes: ReadonlyMap<string, string>,
  secretRevisions: ReadonlyMap<string, number>,
): string {
  const input = JSON.stringify({
    container: containerFields(service, volumes),
    generation: service.deploy_generation,
    secrets: [...secretRevisions].sort(([a], [b]) => (a < b ? -1 : 1)),
  });
  return createHash("sha256").update(input).digest("hex").slice(0, 16);
}

/** The post_start hooks that apply to instance `number`, without the oneshot ones it already ran. */
function hooksFor(service: StoredService, number: number) {
  return service.spec.hooks.post_start
    .filter((hook) => hook.instances === "*" || hook.instances.includes(number))
    .filter((hook) => !(hook.oneshot && (service.oneshot_done[hook.name] ?? []).includes(number)))
    .map((hook) => ({ name: hook.name, cmd: hook.cmd, oneshot: hook.oneshot }));
}

/**
 * Instance `number` of the service as its node should run it. Secrets stay references: the
 * agent link resolves them when it sends the instance, so no value is ever stored here.
 * A stopped service's instances are created stopped; otherwise they run.
 */
export function buildDesiredInstance(service: StoredService, number: number, context: BuildContext): DesiredInstance {
  const { spec } = service;
  return desiredInstanceSchema.parse({
    id: instanceId(service, number),
    name: containerName(service.stack, service.name, number),
    grid: service.grid,
    stack: service.stack,
    service: service.name,
    instance_number: number,
    ...containerFields(service, context.volumes),
    volumes_from: spec.volumes_from.map((source) => volumesFromContainer(service.stack, source, number)),
    state: service.state === "stopped" ? "stopped" : "running",
    // Parsing drops unhealthy_threshold from the check: the agent reads it beside the check.
    health_check: spec.health_check ?? null,
    ...(spec.health_check && { unhealthy_threshold: spec.health_check.unhealthy_threshold }),
    wait_for_port: spec.deploy_opts.wait_for_port,
    post_start: hooksFor(service, number),
    restart_requested_at: service.restart_requested_at,
    pull_requested_at: service.pull_requested_at ?? null,
    revision: context.revision,
  });
}
