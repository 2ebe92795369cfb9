import { z } from "zod";

/**
 * The master↔agent contract for containers: what the master wants on a node (a desired
 * instance) and what the agent reports back (an actual instance). Shared by master core and
 * the agent, so it lives below both. The scheduler fills desired instances in a later issue;
 * today they are set through the internal API of the node service.
 */

export const portMappingSchema = z.object({
  container_port: z.number().int().min(1).max(65535),
  node_port: z.number().int().min(0).max(65535).optional(),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
  ip: z.string().optional(),
});

/** How the agent checks an instance (the service's health_check, with defaults applied). */
export const healthCheckSchema = z.object({
  protocol: z.enum(["http", "tcp"]),
  port: z.number().int().min(1).max(65535),
  /** http only: the path probed; 200-399 passes. */
  uri: z.string().default("/"),
  /** Seconds between checks. */
  interval: z.number().int().min(1).default(10),
  /** Seconds after start before the first check. */
  initial_delay: z.number().int().min(0).default(10),
  /** Seconds a check may take. */
  timeout: z.number().int().min(1).default(10),
});
export type HealthCheck = z.infer<typeof healthCheckSchema>;

export const postStartHookSchema = z.object({
  name: z.string().min(1),
  /** Run as `/bin/sh -c <cmd>` inside the container (exec argv, never a host shell). */
  cmd: z.string().min(1),
  oneshot: z.boolean().default(false),
});
export type PostStartHook = z.infer<typeof postStartHookSchema>;

export const desiredInstanceSchema = z.object({
  /** Stable id of the instance, `grid/stack/service/N`; also the container label io.berth.instance. */
  id: z.string().min(1),
  /** Container name, e.g. `stack.service-1` (`null` stack → `service-1`). */
  name: z.string().min(1),
  grid: z.string().min(1),
  stack: z.string().nullable(),
  service: z.string().min(1),
  instance_number: z.number().int().min(1),
  image: z.string().min(1),
  env: z.array(z.string()).default([]),
  cmd: z.array(z.string()).nullable().default(null),
  entrypoint: z.array(z.string()).nullable().default(null),
  user: z.string().nullable().default(null),
  ports: z.array(portMappingSchema).default([]),
  /** Docker network mode: bridge, host, none or container:<name>. */
  net: z.string().default("bridge"),
  /** Containers whose volumes this one mounts too (Docker's VolumesFrom), by container name. */
  volumes_from: z.array(z.string()).default([]),
  /** Docker volume specs as `docker run -v` takes them: `/data`, `name:/data`, `/host:/data:ro`. */
  volumes: z.array(z.string()).default([]),
  cap_add: z.array(z.string()).default([]),
  cap_drop: z.array(z.string()).default([]),
  memory: z.number().int().positive().nullable().default(null),
  memory_swap: z.number().int().nullable().default(null),
  cpu_shares: z.number().int().min(0).max(262144).nullable().default(null),
  log_driver: z.string().nullable().default(null),
  log_opts: z.record(z.string(), z.string()).default({}),
  /** Extra labels; the agent adds io.berth.{grid,stack,service,instance,node} itself. */
  labels: z.record(z.string(), z.string()).default({}),
  /** running: created and started; stopped: created, not running. */
  state: z.enum(["running", "stopped"]).default("running"),
  /**
   * Secret references (`secret` in the grid's vault, exposed as env `name`). Only references are
   * stored; the master's link resolves them into `env` entries when it sends the instance to the
   * agent, so secret values never sit in the desired set at rest.
   */
  secrets: z.array(z.object({ secret: z.string().min(1), name: z.string().min(1) })).default([]),
  /** The agent runs this check against the container (its IP) and reports `health`. */
  health_check: healthCheckSchema.nullable().default(null),
  /** Consecutive failed health checks after which the agent restarts the container. */
  unhealthy_threshold: z.number().int().min(1).default(3),
  /** After start, the agent probes this container port until it accepts a connection and reports `port_ready`. */
  wait_for_port: z.number().int().min(1).max(65535).nullable().default(null),
  /**
   * Post-start hooks the agent runs (via exec, `/bin/sh -c cmd`, in order) once the container has
   * started; already-done oneshot hooks are left out by the master. Reported in `hooks_ran`.
   */
  post_start: z.array(postStartHookSchema).default([]),
  /**
   * ISO-8601. A running container that started before this is restarted (docker restart) by the
   * agent: a restart request that survives agent restarts and needs no new revision.
   */
  restart_requested_at: z.string().nullable().default(null),
  /**
   * ISO-8601: the latest deploy's time. A running container of this revision that was created
   * before it has its image pulled again once, and is recreated when the pull brought a different
   * image under the same reference (`app:latest` pushed anew). Not part of the revision.
   */
  pull_requested_at: z.string().nullable().default(null),
  /**
   * Changes whenever anything above changes (the master bumps it on every deploy); the agent
   * recreates a container whose label io.berth.revision differs, and leaves it alone otherwise.
   */
  revision: z.string().min(1),
});
export type DesiredInstance = z.infer<typeof desiredInstanceSchema>;
export type DesiredInstanceInput = z.input<typeof desiredInstanceSchema>;

export const actualInstanceSchema = z.object({
  id: z.string(),
  /** What Docker says, plus the agent's own phases while it converges. */
  state: z.enum(["pulling", "creating", "running", "stopped", "exited", "removed", "error", "missing"]),
  container_id: z.string().nullable(),
  ip: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  /** Why it is not as desired (pull failed: unauthorized…), for the operator. */
  error: z.string().nullable(),
  /** The desired revision the container was created from. */
  revision: z.string().nullable(),
  updated_at: z.string(),
  /** When the container last started (ISO-8601), as the engine says. */
  started_at: z.string().nullable().default(null),
  /** null without a health_check; starting until the first check; then the latest result. */
  health: z.enum(["starting", "passing", "critical"]).nullable().default(null),
  /** The latest check's output or failure reason. */
  health_output: z.string().nullable().default(null),
  /** null without wait_for_port; false while probing; true once the port accepted a connection. */
  port_ready: z.boolean().nullable().default(null),
  /** Names of post_start hooks that ran successfully on the current container, in order. */
  hooks_ran: z.array(z.string()).default([]),
  /** A hook that failed on the current container (name and output), else null. */
  hook_error: z.string().nullable().default(null),
});
export type ActualInstance = z.infer<typeof actualInstanceSchema>;

/** Container labels the agent sets; a restarted agent rebuilds its view from them. */
export const BERTH_LABELS = {
  grid: "io.berth.grid",
  stack: "io.berth.stack",
  service: "io.berth.service",
  instance: "io.berth.instance",
  node: "io.berth.node",
  revision: "io.berth.revision",
} as const;
