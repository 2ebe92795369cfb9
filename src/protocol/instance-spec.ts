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
