import { z } from "zod";
import { parseAffinityRule } from "../scheduler/affinity-rule.ts";
import { parseByteSize } from "./byte-size.ts";
import { splitShellWords } from "./shell-words.ts";

/**
 * The canonical service spec: what a service is, whichever face or stack file it came from.
 * The services API validates against this schema and stack files normalise into it, so
 * every shorthand (cmd as a string, env as a map, ports as compose strings…) is accepted
 * here and comes out in one shape; defaults are the Kontena master API's.
 */

const PORT_RANGE = "must be 1-65535";
const portNumber = z.int(PORT_RANGE).min(1, PORT_RANGE).max(65535, PORT_RANGE);

/** A service name ends up in DNS names (service-1.stack.grid), so it is a DNS label. */
export const serviceName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a DNS label: letters, digits and dashes, at most 63");

/** Runs a reader that answers a value or `{ error }`, turning the error into an issue at this path. */
function readWith<T>(read: (text: string) => T | { error: string }) {
  return (value: unknown, ctx: z.RefinementCtx) => {
    if (typeof value !== "string") return value;
    const result = read(value);
    if (typeof result === "object" && result !== null && "error" in result) {
      ctx.addIssue({ code: "custom", message: result.error });
      return z.NEVER;
    }
    return result;
  };
}

const commandWords = z.preprocess(readWith(splitShellWords), z.array(z.string()));

const PORT_TEXT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(\w+))?$/;

/** Reads a compose port ("80:8080", "80:8080/udp", "127.0.0.1:80:80") into the port object's fields. */
function readPortText(text: string): Record<string, unknown> | { error: string } {
  const match = PORT_TEXT.exec(text.trim());
  if (!match) return { error: `"${text}" is not a port: expected [ip:]node_port:container_port[/protocol]` };
  return {
    ...(match[1] === undefined ? {} : { ip: match[1] }),
    node_port: Number(match[2]),
    container_port: Number(match[3]),
    ...(match[4] === undefined ? {} : { protocol: match[4] }),
  };
}

export const portSpec = z.preprocess(
  readWith(readPortText),
  z.strictObject({
    ip: z.ipv4("must be an IPv4 address").default("0.0.0.0"),
    protocol: z.enum(["tcp", "udp"], "must be tcp or udp").default("tcp"),
    node_port: portNumber,
    container_port: portNumber,
  }),
);

const ENV_ENTRY = /^[^=\s]+=/;

/** env as a map ({FOO: bar}) becomes the list form (["FOO=bar"]) Docker takes. */
const envList = z.preprocess(
  (value) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.entries(value).map(([key, entry]) => `${key}=${entry ?? ""}`)
      : value,
  z.array(z.string().regex(ENV_ENTRY, "must be KEY=value")),
);

const secretSpec = z.strictObject({
  secret: z.string().min(1),
  name: z.string().min(1),
  type: z.literal("env", 'must be "env"').default("env"),
});

const byteSize = z.preprocess(
  readWith(
    (text) => parseByteSize(text) ?? { error: `"${text}" is not a size: expected bytes or a number with b, k, m or g` },
  ),
  z.int().min(0),
);

// The scheduler's parser is the one grammar for rules, so a rule that passes here also schedules.
const affinityRule = z.string().superRefine((text, ctx) => {
  try {
    parseAffinityRule(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

/** A link is `name`, `name:alias` or `stack/name:alias`; without an alias the service name is the alias. */
function readLinkText(text: string): { name: string; alias: string } {
  const [name = "", alias] = text.split(":", 2);
  return { name, alias: alias ?? (name.split("/").pop() as string) };
}

export const linkSpec = z.preprocess(
  readWith(readLinkText),
  z.strictObject({
    name: z.string().regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/i, "must be service or stack/service"),
    alias: z.string().min(1),
  }),
);

/** Hook instances: "*" (all), or instance numbers as "1,3", 3 or [1, 3]. */
const hookInstances = z.preprocess(
  (value, ctx) => {
    if (value === "*") return value;
    if (typeof value === "number") return [value];
    if (typeof value !== "string") return value;
    const parts = value.split(",").map((part) => part.trim());
    if (parts.some((part) => !/^\d+$/.test(part))) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not "*" or a list of instance numbers like "1,3"` });
      return z.NEVER;
    }
    return parts.map(Number);
  },
  z.union([z.literal("*"), z.array(z.int().min(1, "instance numbers start at 1"))]),
);

const hookSpec = z.strictObject({
  name: z.string().min(1),
  cmd: z.string().min(1),
  instances: hookInstances.default("*"),
  oneshot: z.boolean().default(false),
});

const healthCheckSpec = z
  .strictObject({
    protocol: z.enum(["http", "tcp"], "must be http or tcp"),
    port: portNumber,
    uri: z.string().startsWith("/", "must start with /").optional(),
    interval: z.int().min(1).default(10),
    initial_delay: z.int().min(0).default(10),
    timeout: z.int().min(1).default(10),
    /** Consecutive failed checks after which the agent restarts the container. */
    unhealthy_threshold: z.int().min(1, "must be at least 1").default(3),
  })
  .superRefine((check, ctx) => {
    if (check.uri !== undefined && check.protocol !== "http")
      ctx.addIssue({ code: "custom", path: ["uri"], message: "only applies to protocol http" });
  })
  // An http check without a uri probes the root, as Kontena does.
  .transform((check) => (check.protocol === "http" ? { ...check, uri: check.uri ?? "/" } : check));

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** A redeploy interval in seconds: a number, or a duration like Kontena's "30s", "5min", "1h", "1d". */
function readDuration(text: string): number | { error: string } {
  const match = /^(\d+)\s*(s|m|min|h|d)?$/.exec(text.trim());
  if (!match) return { error: `"${text}" is not a duration: expected seconds or a number with s, min, h or d` };
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? "s"] as number);
}

const deployOptsSpec = z.strictObject({
  min_health: z.number().min(0, "must be 0-1").max(1, "must be 0-1").default(0.8),
  wait_for_port: portNumber.nullable().default(null),
  interval: z.preprocess(readWith(readDuration), z.int().min(1)).nullable().default(null),
});

export const serviceSpec = z.strictObject({
  name: serviceName,
  image: z.string().min(1, "is required"),
  strategy: z.enum(["ha", "daemon", "random"], "must be ha, daemon or random").default("ha"),
  affinity: z.array(affinityRule).default([]),
  stateful: z.boolean().default(false),
  deploy_opts: deployOptsSpec.default({ min_health: 0.8, wait_for_port: null, interval: null }),
  user: z.string().min(1).optional(),
  instances: z.int().min(0).default(1),
  cmd: commandWords.optional(),
  entrypoint: commandWords.optional(),
  net: z
    .string()
    .regex(/^(bridge|host|none|container:.+)$/, "must be bridge, host, none or container:<name>")
    .default("bridge"),
  ports: z.array(portSpec).default([]),
  env: envList.default([]),
  secrets: z.array(secretSpec).default([]),
  memory: byteSize.optional(),
  memory_swap: byteSize.optional(),
  cpu_shares: z.int().min(0, "must be 0-1024").max(1024, "must be 0-1024").optional(),
  volumes: z.array(z.string().min(1)).default([]),
  volumes_from: z.array(z.string().min(1)).default([]),
  cap_add: z.array(z.string().min(1)).default([]),
  cap_drop: z.array(z.string().min(1)).default([]),
  links: z.array(linkSpec).default([]),
  log_driver: z.string().min(1).optional(),
  log_opts: z.record(z.string(), z.string()).optional(),
  hooks: z.strictObject({ post_start: z.array(hookSpec).default([]) }).default({ post_start: [] }),
  health_check: healthCheckSpec.optional(),
});

/** A service spec as given (shorthands allowed). */
export type ServiceSpecInput = z.input<typeof serviceSpec>;
/** A service spec after normalisation: the one shape the rest of Berth reads. */
export type ServiceSpec = z.output<typeof serviceSpec>;
export type PortSpec = z.output<typeof portSpec>;
export type LinkSpec = z.output<typeof linkSpec>;
