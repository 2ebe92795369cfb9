import { isIP } from "node:net";
import { z } from "zod";

/** Grid names are DNS labels: they become parts of host names, Consul datacenters and store keys. */
export const gridNameSchema = z.string({ error: "must be a string" }).regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: "must be 1 to 63 lowercase letters, digits or dashes, starting and ending with a letter or digit",
});

const hostSchema = z
  .string({ error: "must be a string" })
  .trim()
  .refine((host) => isIP(host) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host), {
    error: "must be a host name or an IP address",
  });

/** A port as a number or, as the spec's example shows it, a string of digits. */
const portSchema = z
  .union(
    [
      z.number(),
      z
        .string()
        .regex(/^[0-9]{1,5}$/)
        .transform(Number),
    ],
    { error: "must be a port number" },
  )
  .pipe(z.int({ error: "must be a port number" }).min(1, "must be 1 to 65535").max(65535, "must be 1 to 65535"));

const statsdSchema = z.object({ server: hostSchema, port: portSchema }, { error: "must be an object or null" });

const statsSchema = z.object(
  { statsd: statsdSchema.nullable().optional() },
  { error: "must be an object with a statsd endpoint" },
);

/** True for an IPv4 or IPv6 subnet in CIDR notation ("10.240.0.0/16", "fd00::/8"). */
export function isCidr(text: string): boolean {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  if (!match) return false;
  const version = isIP(match[1] ?? "");
  const bits = Number(match[2]);
  return version !== 0 && bits <= (version === 4 ? 32 : 128);
}

const trustedSubnetsSchema = z
  .array(
    z
      .string({ error: "must be a string" })
      .refine(isCidr, { error: "must be a subnet in CIDR notation (10.0.0.0/16)" }),
    { error: "must be an array of subnets" },
  )
  .max(1024, "must have at most 1024 subnets");

/** What may change on an existing grid (PUT /v1/grids/:id); absent fields stay as they are. */
export const gridChangesSchema = z.object(
  { stats: statsSchema.optional(), trusted_subnets: trustedSubnetsSchema.optional() },
  { error: "must be an object" },
);

/** A new grid (POST /v1/grids). */
export const newGridSchema = gridChangesSchema.extend({
  name: gridNameSchema,
  initial_size: z.int({ error: "must be a positive integer" }).min(1, "must be a positive integer").default(1),
});
export type NewGrid = z.output<typeof newGridSchema>;

/** How a grid is stored under /grids/<name>. The join token is sealed; its hash finds the grid. */
export const storedGridSchema = z.object({
  name: z.string(),
  initial_size: z.number(),
  token_sealed: z.string(),
  token_sha256: z.string(),
  stats: z.object({ statsd: z.object({ server: z.string(), port: z.number() }).nullable() }),
  trusted_subnets: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StoredGrid = z.infer<typeof storedGridSchema>;

export interface StatsdEndpoint {
  readonly server: string;
  readonly port: number;
}

/** A grid as core hands it out. */
export interface Grid {
  readonly id: string;
  readonly name: string;
  readonly initial_size: number;
  /** Shared secret agents present to join the grid. */
  readonly token: string;
  readonly stats: { readonly statsd: StatsdEndpoint | null };
  readonly trusted_subnets: readonly string[];
  readonly created_at: string;
  readonly updated_at: string;
}

/** A grid as one user may see it: the token only for master_admin and the grid's grid_admins. */
export type GridView = Omit<Grid, "token"> & { readonly token?: string };
