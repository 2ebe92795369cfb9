import { z } from "zod";
import type { CheckDefinition, CheckStatus, StringMap } from "../../core/consul/catalog-record.ts";
import type { ServiceRegistration } from "../../core/consul/catalog-service.ts";
import type { AgentCheckInput } from "../../core/consul/local-agent-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { parseGoDuration } from "../../http/go-duration.ts";
import { consulObject, stringMapSchema } from "./consul-body.ts";

// What agent and catalog registrations accept, as Consul decodes it: any spelling of a field name,
// null for "not given", durations as Go duration text or as a number of nanoseconds.

/** A check runs at most once a second (Consul raises shorter intervals to this). */
const MIN_INTERVAL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const INVALID_CHECK = "Must provide TTL or Script/DockerContainerID/HTTP/TCP and Interval";

const text = z.string({ error: "must be a string" }).nullish();
const flag = z.boolean({ error: "must be a boolean" }).nullish();

/** Milliseconds; undefined when absent or zero. */
const durationSchema = z
  .union([z.string(), z.number()], { error: "must be a duration like 10s" })
  .nullish()
  .transform((value, context) => {
    if (value === undefined || value === null || value === "") return undefined;
    const ms = typeof value === "number" ? value / 1e6 : parseGoDuration(value);
    if (ms === undefined || ms < 0) {
      context.addIssue({ code: "custom", message: `invalid duration ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms === 0 ? undefined : ms;
  });

const tagsSchema = z.array(z.string({ error: "must be strings" }), { error: "must be an array of strings" }).nullish();
const portSchema = z
  .int({ error: "must be an integer" })
  .min(0, "must be 0 to 65535")
  .max(65535, "must be 0 to 65535")
  .nullish();

/** One check as the agent endpoints (and a service's Check/Checks) take it. */
export const agentCheckSchema = consulObject({
  ID: text,
  CheckID: text,
  Name: text,
  Notes: text,
  Status: text,
  ServiceID: text,
  Script: text,
  Args: z.array(z.string({ error: "must be strings" })).nullish(),
  ScriptArgs: z.array(z.string({ error: "must be strings" })).nullish(),
  Interval: durationSchema,
  Timeout: durationSchema,
  TTL: durationSchema,
  HTTP: text,
  Method: text,
  Header: z.record(z.string(), z.array(z.string({ error: "must be strings" }))).nullish(),
  TLSSkipVerify: flag,
  TCP: text,
  DockerContainerID: text,
  GRPC: text,
});
export type AgentCheckBody = z.output<typeof agentCheckSchema>;

/** What agent and catalog registrations say about a service alike (the name field differs). */
const serviceFields = {
  ID: text,
  Tags: tagsSchema,
  Address: text,
  Port: portSchema,
  Meta: stringMapSchema,
  EnableTagOverride: flag,
};

/** A service as the agent's register endpoint takes it. */
export const agentServiceSchema = consulObject({
  ...serviceFields,
  Name: text,
  Check: agentCheckSchema.nullish(),
  Checks: z.array(agentCheckSchema).nullish(),
});

const catalogServiceSchema = consulObject({ ...serviceFields, Service: text });

const catalogCheckSchema = consulObject({
  Node: text,
  CheckID: text,
  Name: text,
  Notes: text,
  Status: text,
  Output: text,
  ServiceID: text,
});
export type CatalogCheckBody = z.output<typeof catalogCheckSchema>;

export const catalogRegisterSchema = consulObject({
  Datacenter: text,
  Node: text,
  Address: text,
  TaggedAddresses: stringMapSchema,
  NodeMeta: stringMapSchema,
  Service: catalogServiceSchema.nullish(),
  Check: catalogCheckSchema.nullish(),
  Checks: z.array(catalogCheckSchema).nullish(),
  SkipNodeUpdate: flag,
});

export const catalogDeregisterSchema = consulObject({
  Datacenter: text,
  Node: text,
  ServiceID: text,
  CheckID: text,
});

/** The status a registration gives, checked against the statuses the endpoint allows. */
export function checkStatusOf(
  status: string | null | undefined,
  allowed: readonly CheckStatus[],
  message: string,
): CheckStatus | undefined {
  if (status === undefined || status === null || status === "") return undefined;
  if (!(allowed as readonly string[]).includes(status)) throw new BadRequestError(message);
  return status as CheckStatus;
}

/** The runnable part of an agent check, or a 400 in Consul's words when it has none. */
function checkDefinitionOf(body: AgentCheckBody): CheckDefinition {
  if (body.TTL !== undefined) return { kind: "ttl", ttlMs: body.TTL };
  if (body.DockerContainerID || body.GRPC) {
    throw new BadRequestError(`${body.GRPC ? "gRPC" : "Docker"} checks are not supported by Berth`);
  }
  if (body.Interval === undefined) throw new BadRequestError(INVALID_CHECK);
  const intervalMs = Math.max(body.Interval, MIN_INTERVAL_MS);
  const timeoutMs = body.Timeout ?? DEFAULT_TIMEOUT_MS;
  const args = body.Args?.length ? body.Args : body.ScriptArgs?.length ? body.ScriptArgs : undefined;
  if (body.HTTP) {
    let url: URL;
    try {
      url = new URL(body.HTTP);
    } catch {
      throw new BadRequestError(`Invalid HTTP check URL ${JSON.stringify(body.HTTP)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new BadRequestError(`Invalid HTTP check URL ${JSON.stringify(body.HTTP)}: must be http or https`);
    }
    return {
      kind: "http",
      url: body.HTTP,
      method: (body.Method || "GET").toUpperCase(),
      header: { ...body.Header },
      tlsSkipVerify: body.TLSSkipVerify ?? false,
      intervalMs,
      timeoutMs,
    };
  }
  if (body.TCP) return { kind: "tcp", address: body.TCP, intervalMs, timeoutMs };
  if (args) return { kind: "script", args, intervalMs, timeoutMs };
  if (body.Script) return { kind: "script", args: [body.Script], intervalMs, timeoutMs };
  throw new BadRequestError(INVALID_CHECK);
}

/** A check of an agent registration, with the status message of the endpoint it came through. */
export function agentCheckOf(body: AgentCheckBody, statusMessage: string): AgentCheckInput {
  return {
    id: body.CheckID || body.ID || undefined,
    name: body.Name || undefined,
    notes: body.Notes ?? "",
    status: checkStatusOf(body.Status, ["passing", "warning", "critical"], statusMessage),
    definition: checkDefinitionOf(body),
  };
}

/** A service of an agent or catalog registration; Consul refuses an unspecified ("any") address. */
export function serviceRegistrationOf(fields: {
  readonly id: string;
  readonly name: string;
  readonly tags: string[] | null | undefined;
  readonly address: string | null | undefined;
  readonly port: number | null | undefined;
  readonly meta: StringMap;
  readonly enableTagOverride: boolean | null | undefined;
}): ServiceRegistration {
  const address = fields.address ?? "";
  if (["0.0.0.0", "::", "[::]"].includes(address)) throw new BadRequestError("Invalid service address");
  assertValidMeta(fields.meta, "Service");
  return {
    id: fields.id,
    name: fields.name,
    tags: fields.tags ?? null,
    address,
    port: fields.port ?? 0,
    meta: fields.meta,
    enableTagOverride: fields.enableTagOverride ?? false,
  };
}

const MAX_META_PAIRS = 64;
const MAX_META_KEY = 128;
const MAX_META_VALUE = 512;

/** Consul's rules for node and service meta, with its messages. */
export function assertValidMeta(meta: StringMap, kind: "Node" | "Service"): void {
  const entries = Object.entries(meta);
  const fail = (reason: string): never => {
    throw new BadRequestError(`Invalid ${kind} Meta: ${reason}`);
  };
  if (entries.length > MAX_META_PAIRS) fail(`Node metadata cannot contain more than ${MAX_META_PAIRS} key/value pairs`);
  for (const [key, value] of entries) {
    const pair = `Couldn't load metadata pair ('${key}', '${value}')`;
    if (key === "") fail(`${pair}: Key cannot be blank`);
    if (!/^[a-zA-Z0-9_-]+$/.test(key)) fail(`${pair}: Key contains invalid characters`);
    if (key.length > MAX_META_KEY) fail(`${pair}: Key is too long (limit: ${MAX_META_KEY} characters)`);
    if (key.startsWith("consul-")) fail(`${pair}: Key prefix 'consul-' is reserved for internal use`);
    if (value.length > MAX_META_VALUE) fail(`${pair}: Value is too long (limit: ${MAX_META_VALUE} characters)`);
  }
}
