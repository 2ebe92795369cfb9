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

/** Node names are host-name-like: they appear in store keys, node ids (`grid/name`) and container labels. */
export const nodeNameSchema = z
  .string({ error: "must be a string" })
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/, {
    error: "must be 1 to 64 letters, digits, dots, underscores or dashes, starting and ending with a letter or digit",
  });

/** `key=value`: a key of letters, digits and . _ / -, a value without spaces or commas (the CLI's separator). */
export const nodeLabelSchema = z
  .string({ error: "must be a string" })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}=[^\s,]{0,255}$/, {
    error: "must be key=value (key: letters, digits, . _ / -; value: no spaces or commas)",
  });

/** A node's labels: at most 100, each key once. */
export const nodeLabelsSchema = z
  .array(nodeLabelSchema, { error: "must be an array of key=value strings" })
  .max(100, "must have at most 100 labels")
  .superRefine((labels, context) => {
    const seen = new Set<string>();
    labels.forEach((label, index) => {
      const key = label.slice(0, label.indexOf("="));
      if (seen.has(key)) context.addIssue({ code: "custom", path: [index], message: `repeats the key ${key}` });
      seen.add(key);
    });
  });
