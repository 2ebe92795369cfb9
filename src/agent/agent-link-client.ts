import type { Logger } from "pino";
import WebSocket from "ws";
import {
  type AgentMessage,
  type HelloMessage,
  LINK_CLOSE,
  LINK_PATH,
  MAX_LINK_FRAME_BYTES,
  type MasterMessage,
  masterMessageSchema,
  NODE_HEADER,
  parseLinkMessage,
  REFUSAL_CLOSE_CODES,
  type WelcomeMessage,
  welcomeMessageSchema,
} from "../protocol/link-messages.ts";
import { LinkRefusedError } from "./link-refused-error.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, reconnectDelay } from "./reconnect-backoff.ts";

/** What the agent presents when it dials: the grid token to join, its node token afterwards. */
export type LinkClientCredentials =
  | { readonly kind: "grid"; readonly token: string }
  | { readonly kind: "node"; readonly grid: string; readonly name: string; readonly token: string };

export interface AgentLinkClientOptions {
  /** The master's base URL (http, https, ws or wss). */
  readonly masterUrl: string;
  /** Asked before every dial: the identity may have been stored since the last one. */
  readonly credentials: () => LinkClientCredentials;
  /** The hello's content, gathered before every dial (facts can change while the link is down). */
  readonly hello: () => Promise<Pick<HelloMessage, "name" | "labels" | "facts">>;
  readonly agentVersion: string;
  readonly logger: Logger;
  /** Turns a refusal into what the operator should do about it, in terms of this agent's setup. */
  readonly advice: (code: number, reason: string) => string;
  /** The master accepted the agent; a joined agent must store its identity before this resolves. */
  readonly onWelcome: (welcome: WelcomeMessage) => Promise<void>;
  /** The desired snapshot (after every welcome), each change after it, and answers to the agent's requests. */
  readonly onMessage: (message: MasterMessage) => void;
  /** A link that was welcomed ended (the client dials again unless it was closed or refused). */
  readonly onLinkDown?: () => void;
  /** Certificate authorities (PEM) that a wss:// master's certificate must chain to, instead of Node's. */
  readonly ca?: string;
  /** The agent's clock; tests skew it. */
  readonly now?: () => number;
  readonly backoff?: BackoffPolicy;
  /** How long dialling, the upgrade and the welcome may take. Default 15 s. */
  readonly connectTimeoutMs?: number;
}

/** Silence (no ping, no message) longer than this many ping intervals means the link is dead. */
const SILENCE_INTERVALS = 2.5;
/** How long a close may take before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * The agent's end of the link: dials the master, says hello, hands the desired state to the
 * agent and carries its reports back. A link that drops is dialled again with exponential
 * backoff and jitter; a link that stays silent for 2.5 ping intervals is given up as dead. A
 * refusal (credentials, name, version, clock) stops it: `stopped` rejects with LinkRefusedError.
 */
export class AgentLinkClient {
  readonly #options: AgentLinkClientOptions;
  readonly #stopped = Promise.withResolvers<void>();
  #socket: WebSocket | undefined;
  #welcomed = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #silenceLimitMs: number;
  #closing = false;
  #inbox: Promise<void> = Promise.resolve();

  constructor(options: AgentLinkClientOptions) {
    this.#options = options;
    this.#silenceLimitMs = options.connectTimeoutMs ?? 15_000;
    // Owners await it; until then a refusal must not count as an unhandled rejection.
    this.#stopped.promise.catch(() => {});
  }

  /** Resolves when close() ended the link; rejects with LinkRefusedError when the master refused the agent. */
  get stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  /** True between the welcome and the end of that link. */
  get connected(): boolean {
    return this.#welcomed && this.#socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    void this.#dial();
  }

  /** Sends a report if the link is up; returns false (and drops it) otherwise. */
  send(message: AgentMessage): boolean {
    if (!this.connected) return false;
    this.#socket?.send(JSON.stringify(message));
    return true;
  }

  /** Ends the link for good (the agent stops); containers are not touched. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.close(1000, "the agent is stopping");
      const cut = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(cut);
    }
    this.#stopped.resolve();
    await this.#stopped.promise.catch(() => {});
  }

  async #dial(): Promise<void> {
    if (this.#closing) return;
    let hello: Pick<HelloMessage, "name" | "labels" | "facts">;
    try {
      hello = await this.#options.hello();
    } catch (error) {
      this.#retry(`cannot describe this node (${(error as Error).message})`);
      return;
    }
    if (this.#closing) return;
    const credentials = this.#options.credentials();
    const headers: Record<string, string> = { authorization: `Bearer ${credentials.token}` };
    if (credentials.kind === "node") headers[NODE_HEADER] = `${credentials.grid}/${credentials.name}`;
    const socket = new WebSocket(linkUrl(this.#options.masterUrl), {
      headers,
      maxPayload: MAX_LINK_FRAME_BYTES,
      handshakeTimeout: this.#options.connectTimeoutMs ?? 15_000,
      ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }),
    });
    this.#socket = socket;
    this.#welcomed = false;
    this.#silenceLimitMs = this.#options.connectTimeoutMs ?? 15_000;
    let httpRefusal: { status: number; body: string } | undefined;

    socket.on("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (body.length < 2_000) body += chunk;
      });
      response.on("end", () => {
        httpRefusal = { status: response.statusCode ?? 0, body };
        socket.terminate();
      });
    });
    socket.on("error", (error) => this.#options.logger.debug({ err: error }, "agent link error"));
    socket.on("open", () => {
      this.#resetWatchdog();
      socket.send(
        JSON.stringify({
          type: "hello",
          agent_version: this.#options.agentVersion,
          time: (this.#options.now ?? Date.now)(),
          ...hello,
        } satisfies HelloMessage),
      );
    });
    socket.on("ping", () => this.#resetWatchdog());
    socket.on("message", (data, isBinary) => {
      this.#resetWatchdog();
      const text = data.toString();
      this.#inbox = this.#inbox.then(() => this.#receive(socket, text, isBinary));
    });
    socket.on("close", (code, reason) => {
      clearTimeout(this.#watchdog);
      if (this.#socket === socket) this.#closed(code, reason.toString(), httpRefusal);
    });
  }

  async #receive(socket: WebSocket, text: string, isBinary: boolean): Promise<void> {
    if (socket !== this.#socket || socket.readyState !== WebSocket.OPEN) return;
    if (isBinary) return this.#protocolError(socket, "binary frames carry no message yet");
    if (!this.#welcomed) {
      const welcome = parseLinkMessage(welcomeMessageSchema, text);
      if (!welcome.ok) return this.#protocolError(socket, welcome.error);
      try {
        await this.#options.onWelcome(welcome.message);
      } catch (error) {
        this.#refused(LINK_CLOSE.protocolError, `cannot store the node identity: ${(error as Error).message}`);
        socket.close(1000, "the agent cannot store its identity");
        return;
      }
      this.#welcomed = true;
      this.#attempt = 0;
      this.#silenceLimitMs = welcome.message.ping_interval_ms * SILENCE_INTERVALS;
      this.#resetWatchdog();
      this.#options.logger.info({ node: welcome.message.node.id }, "connected to the master");
      return;
    }
    const message = parseLinkMessage(masterMessageSchema, text);
    if (!message.ok) return this.#protocolError(socket, message.error);
    this.#options.onMessage(message.message);
  }

  #protocolError(socket: WebSocket, error: string): void {
    this.#options.logger.warn({ reason: error }, "the master sent a bad message; reconnecting");
    socket.close(LINK_CLOSE.protocolError, error.slice(0, 120));
  }

  #resetWatchdog(): void {
    clearTimeout(this.#watchdog);
    const socket = this.#socket;
    this.#watchdog = setTimeout(() => {
      this.#options.logger.warn({ silent_ms: this.#silenceLimitMs }, "the master went silent; dropping the link");
      socket?.terminate();
    }, this.#silenceLimitMs);
  }

  #closed(code: number, reason: string, httpRefusal: { status: number; body: string } | undefined): void {
    const wasUp = this.#welcomed;
    this.#welcomed = false;
    if (wasUp) this.#options.onLinkDown?.();
    if (this.#closing) return;
    if (REFUSAL_CLOSE_CODES.has(code)) {
      this.#refused(code, reason);
    } else if (httpRefusal?.status === 401 || httpRefusal?.status === 403) {
      this.#refused(httpRefusal.status, errorText(httpRefusal.body));
    } else {
      this.#retry(
        httpRefusal
          ? `the master answered HTTP ${httpRefusal.status}: ${errorText(httpRefusal.body)}`
          : `the link closed (${code}${reason ? `: ${reason}` : ""})`,
      );
    }
  }

  #refused(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    const error = new LinkRefusedError(code, this.#options.advice(code, reason));
    this.#options.logger.error({ code, reason }, error.message);
    this.#stopped.reject(error);
  }

  #retry(why: string): void {
    if (this.#closing) return;
    const delay = reconnectDelay(this.#options.backoff ?? DEFAULT_BACKOFF, this.#attempt++);
    this.#options.logger.warn({ retry_in_ms: Math.round(delay) }, `${why}; dialling the master again`);
    this.#retryTimer = setTimeout(() => void this.#dial(), delay);
  }
}

/** The link's WebSocket URL on a master's base URL. */
export function linkUrl(masterUrl: string): string {
  const url = new URL(LINK_PATH, masterUrl);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  return url.toString();
}

/** The message of a native error body, or the body itself. */
function errorText(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof error === "string") return error;
  } catch {
    // not JSON: the body is the message
  }
  return body.slice(0, 500);
}
