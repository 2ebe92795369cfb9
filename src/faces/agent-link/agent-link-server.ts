import type { WebSocket } from "@fastify/websocket";
import type { FastifyBaseLogger } from "fastify";
import type { Grid } from "../../core/grids/grid-record.ts";
import { AdmissionRefusedError } from "../../core/nodes/admission-refused-error.ts";
import type { NodeInstanceService } from "../../core/nodes/node-instance-service.ts";
import type { NodeLinkService } from "../../core/nodes/node-link-service.ts";
import { nodeIdOf, type StoredNode } from "../../core/nodes/node-record.ts";
import type { PullCredentialsService } from "../../core/registries/pull-credentials-service.ts";
import type { SecretService } from "../../core/secrets/secret-service.ts";
import {
  type HelloMessage,
  helloMessageSchema,
  LINK_CLOSE,
  parseLinkMessage,
  versionsCompatible,
} from "../../protocol/link-messages.ts";
import { AgentLinkSession } from "./agent-link-session.ts";
import { closeCodeFor, closeLink } from "./link-close.ts";

/** What the agent presented in its upgrade request. */
export type LinkCredentials =
  | { readonly kind: "grid"; readonly token: string }
  | { readonly kind: "node"; readonly grid: string; readonly name: string; readonly token: string };

/** The verdict on an upgrade's credentials, before the hello. */
export type LinkAdmission =
  | { readonly kind: "join"; readonly grid: Grid }
  | { readonly kind: "rejoin"; readonly node: StoredNode }
  | { readonly kind: "refused"; readonly code: number; readonly reason: string };

export interface AgentLinkServerOptions {
  readonly nodeLinks: NodeLinkService;
  readonly nodeInstances: NodeInstanceService;
  readonly pullCredentials: PullCredentialsService;
  /** Resolves desired instances' secret refs into env as they go to the agent. */
  readonly secrets: Pick<SecretService, "valueFor">;
  readonly masterVersion: string;
  readonly logger: FastifyBaseLogger;
  /** The master pings every link this often and drops one that missed a whole interval. Default 10 s. */
  readonly pingIntervalMs?: number;
  /** How long a new link may take to say hello. Default 10 s. */
  readonly helloTimeoutMs?: number;
  /** Largest difference between the agent's clock and the master's. Default 5 s. */
  readonly maxClockSkewMs?: number;
}

/**
 * The master's end of the agent links: admits each upgrade (credentials first, then the hello's
 * version and clock), runs one session per node — a newer link of the same node takes over
 * from the older one — and closes them all at shutdown.
 */
export class AgentLinkServer {
  readonly #options: AgentLinkServerOptions;
  readonly #pingIntervalMs: number;
  readonly #sessions = new Map<string, AgentLinkSession>();
  /** Every socket accepted, until it closed and its session (if any) cleaned up. */
  readonly #open = new Map<WebSocket, Promise<void>>();
  #closing = false;

  constructor(options: AgentLinkServerOptions) {
    this.#options = options;
    this.#pingIntervalMs = options.pingIntervalMs ?? 10_000;
  }

  /** Checks the credentials of an upgrade; a refusal is a verdict, not an error (the socket gets its close code). */
  async admit(credentials: LinkCredentials): Promise<LinkAdmission> {
    const { nodeLinks } = this.#options;
    try {
      if (credentials.kind === "grid") return { kind: "join", grid: await nodeLinks.admitGridToken(credentials.token) };
      return {
        kind: "rejoin",
        node: await nodeLinks.admitNodeToken(credentials.grid, credentials.name, credentials.token),
      };
    } catch (error) {
      if (!(error instanceof AdmissionRefusedError)) throw error;
      return { kind: "refused", code: closeCodeFor(error.refusal), reason: error.message };
    }
  }

  /** Takes an upgraded socket: refuses it, or waits for its hello and starts its session. */
  accept(socket: WebSocket, admission: LinkAdmission): void {
    const cleanedUp = Promise.withResolvers<void>();
    this.#open.set(socket, cleanedUp.promise);
    void cleanedUp.promise.then(() => this.#open.delete(socket));
    let sessionStarted = false;
    socket.once("close", () => {
      // A session resolves it after its own cleanup; a socket without one is done now.
      if (!sessionStarted) cleanedUp.resolve();
    });

    if (this.#closing) {
      this.#refuse(socket, LINK_CLOSE.goingAway, "the master is shutting down");
      return;
    }
    if (admission.kind === "refused") {
      this.#refuse(socket, admission.code, admission.reason);
      return;
    }

    const timer = setTimeout(
      () => this.#refuse(socket, LINK_CLOSE.helloTimeout, "no hello arrived in time"),
      this.#options.helloTimeoutMs ?? 10_000,
    );
    socket.once("message", (data, isBinary) => {
      clearTimeout(timer);
      const hello = isBinary
        ? { ok: false as const, error: "the hello must be a text frame" }
        : parseLinkMessage(helloMessageSchema, data.toString());
      if (!hello.ok) return this.#refuse(socket, LINK_CLOSE.protocolError, hello.error);
      const refusal = this.#checkHello(hello.message);
      if (refusal) return this.#refuse(socket, refusal.code, refusal.reason);
      sessionStarted = true;
      void this.#startSession(socket, admission, hello.message).finally(cleanedUp.resolve);
    });
    socket.once("close", () => clearTimeout(timer));
  }

  /** Closes every link (the agents reconnect to the next master) and waits for their cleanup. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const socket of this.#open.keys()) this.#refuse(socket, LINK_CLOSE.goingAway, "the master is shutting down");
    await Promise.all(this.#open.values());
  }

  #checkHello(hello: HelloMessage): { code: number; reason: string } | undefined {
    const { masterVersion } = this.#options;
    if (!versionsCompatible(hello.agent_version, masterVersion)) {
      return {
        code: LINK_CLOSE.versionMismatch,
        reason: `agent ${hello.agent_version} cannot work with master ${masterVersion}: run an agent ${masterVersion.split(".").slice(0, 2).join(".")}.x`,
      };
    }
    const skew = hello.time - Date.now();
    const maxSkew = this.#options.maxClockSkewMs ?? 5_000;
    if (!Number.isFinite(skew) || Math.abs(skew) > maxSkew) {
      const seconds = (Math.abs(skew) / 1000).toFixed(1);
      return {
        code: LINK_CLOSE.clockSkew,
        reason: `the agent's clock is ${seconds} s ${skew > 0 ? "ahead of" : "behind"} the master's (at most ${maxSkew / 1000} s): synchronise clocks (NTP)`,
      };
    }
    return undefined;
  }

  async #startSession(socket: WebSocket, admission: LinkAdmission, hello: HelloMessage): Promise<void> {
    const { nodeLinks, logger } = this.#options;
    let node: StoredNode;
    let token: string | null = null;
    try {
      if (admission.kind === "join") {
        ({ node, token } = await nodeLinks.join(admission.grid, {
          name: hello.name,
          labels: hello.labels,
          facts: hello.facts,
          agentVersion: hello.agent_version,
        }));
      } else if (admission.kind === "rejoin") {
        node = admission.node;
      } else {
        return;
      }
    } catch (error) {
      if (error instanceof AdmissionRefusedError) this.#refuse(socket, closeCodeFor(error.refusal), error.message);
      else {
        logger.error({ err: error }, "agent join failed");
        closeLink(socket, 1011, "the master failed to admit the agent; reconnect");
      }
      return;
    }

    const id = nodeIdOf(node);
    const previous = this.#sessions.get(id);
    if (previous) {
      previous.close(LINK_CLOSE.replaced, "another connection of this node took over");
      await previous.ended();
    }
    if (socket.readyState !== socket.OPEN) return;
    const session = new AgentLinkSession(socket, node, {
      nodeLinks,
      nodeInstances: this.#options.nodeInstances,
      pullCredentials: this.#options.pullCredentials,
      secrets: this.#options.secrets,
      masterVersion: this.#options.masterVersion,
      pingIntervalMs: this.#pingIntervalMs,
      logger,
    });
    this.#sessions.set(id, session);
    void session.start(hello, token);
    await session.ended();
    if (this.#sessions.get(id) === session) this.#sessions.delete(id);
  }

  #refuse(socket: WebSocket, code: number, reason: string): void {
    if (code !== LINK_CLOSE.goingAway) this.#options.logger.warn({ code, reason }, "agent link refused");
    closeLink(socket, code, reason);
  }
}
