import { z } from "zod";
import { actualInstanceSchema, desiredInstanceSchema } from "./instance-spec.ts";
import { nodeFactsSchema, nodeLabelsSchema, nodeNameSchema, resourceUsageSchema } from "./node-facts.ts";

/**
 * The master ↔ agent link: one WebSocket per agent, dialled by the agent to LINK_PATH on the
 * master's listener.
 *
 * Credentials travel in the upgrade request: `Authorization: Bearer <token>`, with the grid's
 * join token the first time, and the node token afterwards together with `X-Berth-Node:
 * <grid>/<name>`. An upgrade without credentials is refused with HTTP 401; credentials the
 * master rejects end the WebSocket with one of the refusal close codes below.
 *
 * Every message is a JSON text frame with a `type`. The agent speaks first (hello); the master
 * answers welcome, then the node's whole desired set (desired.snapshot), then every change to it
 * (desired.change) — level-triggered, so a reconnect always starts from a complete set. The
 * agent reports actual instance states, container events and resource usage whenever it has
 * them. Only one message is answered: before a pull, the agent asks for the login to the image's
 * registry (registry.credentials.request), and the master answers with its request id
 * (registry.credentials) — so a registry password crosses the link only in the answer to a pull
 * that needs it, and a registry added later is used by the next attempt. Nothing else waits for an
 * answer, so later kinds of traffic (the Docker API tunnel, log streams) can share the link as
 * further message types carrying a stream id, with binary frames reserved for their payloads.
 */

export const LINK_PATH = "/agent/link";
/** Names the node whose token the Authorization header carries (`<grid>/<name>`). */
export const NODE_HEADER = "x-berth-node";

/** Close codes; 4xxx mirror the HTTP status of the same meaning. */
export const LINK_CLOSE = {
  /** The master shuts down or restarts: reconnect. */
  goingAway: 1001,
  /** A message that does not parse or breaks the protocol; the reason names it. */
  protocolError: 4400,
  /** The grid token matches no grid (wrong, or rotated since). */
  gridTokenRejected: 4401,
  /** The node exists but the token is not its token. */
  nodeTokenRejected: 4403,
  /** The node was deleted from its grid (or the grid removed). */
  nodeDeleted: 4404,
  /** No hello arrived in time. */
  helloTimeout: 4408,
  /** Joining: the grid already has a node of that name. */
  nameTaken: 4409,
  /** Another connection of the same node took over this one. */
  replaced: 4410,
  /** The agent's clock is too far from the master's. */
  clockSkew: 4412,
  /** Agent and master versions are not compatible. */
  versionMismatch: 4426,
} as const;

/** Refusals: retrying with the same credentials, version or clock would be refused again. */
export const REFUSAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  LINK_CLOSE.gridTokenRejected,
  LINK_CLOSE.nodeTokenRejected,
  LINK_CLOSE.nodeDeleted,
  LINK_CLOSE.nameTaken,
  LINK_CLOSE.replaced,
  LINK_CLOSE.clockSkew,
  LINK_CLOSE.versionMismatch,
]);

/** Largest frame either side accepts: a snapshot of many instances fits, a stray upload does not. */
export const MAX_LINK_FRAME_BYTES = 16 * 1024 * 1024;

/** Agent and master work together when their versions agree in major and minor (`0.1.x` with `0.1.y`). */
export function versionsCompatible(a: string, b: string): boolean {
  const release = (version: string): string => version.split(".").slice(0, 2).join(".");
  return release(a) === release(b);
}

// agent → master

export const helloMessageSchema = z.object({
  type: z.literal("hello"),
  agent_version: z.string().min(1).max(100),
  /** The agent's clock, ms since the epoch: the master refuses a skew over a few seconds. */
  time: z.number(),
  /** Used when joining; a node that already joined keeps its name. */
  name: nodeNameSchema,
  /** Used when joining; afterwards the node's labels are changed through the API. */
  labels: nodeLabelsSchema,
  facts: nodeFactsSchema,
});
export type HelloMessage = z.infer<typeof helloMessageSchema>;

const usageMessageSchema = z.object({ type: z.literal("node.usage"), resource_usage: resourceUsageSchema });

const actualMessageSchema = z.object({
  type: z.literal("instances.actual"),
  /** All instances of the node (anything not listed has no container); else only those that changed. */
  complete: z.boolean(),
  instances: z.array(actualInstanceSchema).max(100_000),
});

export const containerEventSchema = z.object({
  /** io.berth.instance of the container; null for a node-labelled container without one. */
  instance: z.string().max(1000).nullable(),
  container_id: z.string().max(200),
  /** Docker's action: start, die, oom, destroy… */
  action: z.string().max(200),
  /** Set on die. */
  exit_code: z.number().int().nullable(),
  /** The engine's time, ISO-8601. */
  time: z.string().max(100),
});
export type ContainerEvent = z.infer<typeof containerEventSchema>;

const eventsMessageSchema = z.object({
  type: z.literal("container.events"),
  events: z.array(containerEventSchema).max(10_000),
});

/** Asked before a pull: the login to the image's registry, if the node's grid has one. */
const credentialsRequestMessageSchema = z.object({
  type: z.literal("registry.credentials.request"),
  /** The agent's id for the request; the answer carries it back. */
  request_id: z.string().min(1).max(100),
  /** The image about to be pulled. */
  image: z.string().min(1).max(1000),
});

/** What an agent sends after its hello. */
export const agentMessageSchema = z.discriminatedUnion("type", [
  usageMessageSchema,
  actualMessageSchema,
  eventsMessageSchema,
  credentialsRequestMessageSchema,
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

// master → agent

export const welcomeMessageSchema = z.object({
  type: z.literal("welcome"),
  node: z.object({ id: z.string(), grid: z.string(), name: z.string(), node_number: z.number().int() }),
  /** Only when the agent joined: the token to present from now on. */
  node_token: z.string().nullable(),
  master_version: z.string(),
  /** The master pings this often; the agent gives up on a link that stays silent much longer. */
  ping_interval_ms: z.number().int().positive(),
});
export type WelcomeMessage = z.infer<typeof welcomeMessageSchema>;

const snapshotMessageSchema = z.object({
  type: z.literal("desired.snapshot"),
  /** Store revision the set was read at; changes follow from the next one. */
  revision: z.number().int(),
  instances: z.array(desiredInstanceSchema),
});

const changeMessageSchema = z.object({
  type: z.literal("desired.change"),
  revision: z.number().int(),
  put: z.array(desiredInstanceSchema),
  /** Ids of instances no longer desired. */
  delete: z.array(z.string()),
});

/** A login for one pull, as Docker's X-Registry-Auth takes it; never logged, never stored by the agent. */
export const registryCredentialsSchema = z.object({
  username: z.string().max(255),
  password: z.string().max(8192),
  /** Registry host, e.g. `registry.example.com:5000` (Docker Hub: `https://index.docker.io/v1/`). */
  serveraddress: z.string().max(2048),
});
export type RegistryCredentials = z.infer<typeof registryCredentialsSchema>;

/** The answer to a registry.credentials.request. */
const credentialsMessageSchema = z.object({
  type: z.literal("registry.credentials"),
  request_id: z.string().max(100),
  /** null: pull anonymously (the grid has no login for that registry, or the node runs no image from it). */
  credentials: registryCredentialsSchema.nullable(),
});

/** What the master sends after its welcome. */
export const masterMessageSchema = z.discriminatedUnion("type", [
  snapshotMessageSchema,
  changeMessageSchema,
  credentialsMessageSchema,
]);
export type MasterMessage = z.infer<typeof masterMessageSchema>;

/** Every message, as either side writes it. */
export type LinkMessage = HelloMessage | AgentMessage | WelcomeMessage | z.input<typeof masterMessageSchema>;

/** Parses one text frame; the error message names what is wrong, for the close reason. */
export function parseLinkMessage<Schema extends z.ZodType>(
  schema: Schema,
  text: string,
): { ok: true; message: z.output<Schema> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: "a frame is not JSON" };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const type = typeof (json as { type?: unknown })?.type === "string" ? (json as { type: string }).type : "message";
  return { ok: false, error: `${type}: ${issue?.path.join(".") || "type"}: ${issue?.message ?? "invalid"}` };
}
