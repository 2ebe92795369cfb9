import { z } from "zod";

/**
 * What an agent tells the master about its host: engine facts from Docker `info` and the
 * host's addresses (the converger gathers them), and resource usage (sampled every minute).
 * Shared by master core and the agent, so it lives below both; field names are the native
 * API's node fields, so the master stores them as they come.
 */

const driverSchema = z.object({ name: z.string().min(1).max(200) });

export const nodeFactsSchema = z.object({
  /** Docker's engine ID (`info.ID`): the same for every agent on one engine. */
  node_id: z.string().min(1).max(200),
  os: z.string().max(500),
  kernel_version: z.string().max(500),
  docker_version: z.string().max(200),
  /** Storage driver, e.g. overlay2. */
  driver: z.string().max(200),
  cpus: z.number().int().min(0),
  /** Bytes. */
  mem_total: z.number().min(0),
  /** Bytes containers may use in all (the engine's memory: Berth reserves none). */
  mem_limit: z.number().min(0),
  engine_root_dir: z.string().max(4096),
  network_drivers: z.array(driverSchema).max(100),
  volume_drivers: z.array(driverSchema).max(100),
  /** Address other networks reach the host at; the private one when it has no other. */
  public_ip: z.string().max(100),
  /** Address for traffic inside the grid (overlay networks). */
  private_ip: z.string().max(100),
});
export type NodeFacts = z.infer<typeof nodeFactsSchema>;

const nonNegative = z.number().min(0);

export const resourceUsageSchema = z.object({
  /** Bytes. */
  memory: z.object({ used: nonNegative, cached: nonNegative, buffers: nonNegative, total: nonNegative }),
  load: z.object({ "1m": nonNegative, "5m": nonNegative, "15m": nonNegative }),
  /** The file system holding the engine's root directory; bytes. */
  filesystem: z.object({ name: z.string().max(4096), used: nonNegative, total: nonNegative }),
  /** Busy share of all CPUs since the previous sample, 0–100. */
  cpu: z.object({ usage_pct: z.number().min(0).max(100) }),
});
export type ResourceUsage = z.infer<typeof resourceUsageSchema>;
