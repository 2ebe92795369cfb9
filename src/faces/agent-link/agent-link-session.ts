import type { WebSocket } from "@fastify/websocket";
import type { FastifyBaseLogger } from "fastify";
import { AdmissionRefusedError } from "../../core/nodes/admission-refused-error.ts";
import type { NodeInstanceService } from "../../core/nodes/node-instance-service.ts";
import type { NodeLinkLease, NodeLinkService } from "../../core/nodes/node-link-service.ts";
import { nodeIdOf, type StoredNode } from "../../core/nodes/node-record.ts";
import type { PullCredentialsService } from "../../core/registries/pull-credentials-service.ts";
import type { SecretService } from "../../core/secrets/secret-service.ts";
import type { DesiredInstance } from "../../protocol/instance-spec.ts";
import {
  type AgentMessage,
  agentMessageSchema,
  type HelloMessage,
  LINK_CLOSE,
  type LinkMessage,
  parseLinkMessage,
} from "../../protocol/link-messages.ts";
import type { Watcher } from "../../store/state-store.ts";
import { closeCodeFor, closeLink } from "./link-close.ts";

/** Messages waiting to be stored before the session stops reading from the socket. */
const MAX_PENDING_MESSAGES = 64;

export interface SessionContext {
  readonly nodeLinks: NodeLinkService;
  readonly nodeInstances: NodeInstanceService;
  readonly pullCredentials: PullCredentialsService;
  readonly secrets: Pick<SecretService, "valueFor">;
  readonly masterVersion: string;
  readonly pingIntervalMs: number;
  readonly logger: FastifyBaseLogger;
}

/**
 * One admitted agent's link, after its hello was accepted: records the node as connected,
 * sends the welcome, the desired snapshot and then every change, stores what the agent
 * reports, answers its requests for registry logins, pings it, and cleans up when the link
 * ends, however it ends. Instances go out with their secret refs resolved into env: secret
 * values cross the link only in those messages and are kept nowhere.
 */
export class AgentLinkSession {
  readonly node: StoredNode;
  readonly #socket: WebSocket;
  readonly #context: SessionContext;
  readonly #logger: FastifyBaseLogger;
  readonly #watchers: Watcher[] = [];
  #link: NodeLinkLease | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #alive = true;
  #inbox: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Desired changes go out one after another, each after its check that the node still exists. */
  #outbox: Promise<void> = Promise.resolve();
  readonly #ended = Promise.withResolvers<void>();
  #cleanup: Promise<void> | undefined;

  constructor(socket: WebSocket, node: StoredNode, context: SessionContext) {
    this.node = node;
    this.#socket = socket;
    this.#context = context;
    this.#logger = context.logger.child({ node: nodeIdOf(node) });
    socket.on("close", () => void this.#end().finally(this.#ended.resolve));
  }

  /** Resolves once the socket has closed and the session has cleaned up. */
  ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** Runs the session until the socket closes. */
  async start(hello: HelloMessage, nodeToken: string | null): Promise<void> {
    const { nodeLinks, nodeInstances } = this.#context;
    this.#socket.on("pong", () => this.#ponged());
    this.#socket.on("message", (data, isBinary) => this.#receive(data.toString(), isBinary));
    try {
      this.#link = await nodeLinks.connect(this.node.grid, this.node.name, hello.facts, hello.agent_version);
      this.#send({
        type: "welcome",
        node: {
          id: nodeIdOf(this.node),
          grid: this.node.grid,
          name: this.node.name,
          node_number: this.node.node_number,
        },
        node_token: nodeToken,
        master_version: this.#context.masterVersion,
        ping_interval_ms: this.#context.pingIntervalMs,
      });
      const snapshot = await nodeInstances.snapshot(this.node.grid, this.node.name);
      const instances = await this.#withSecrets(snapshot.instances);
      this.#send({ type: "desired.snapshot", revision: snapshot.revision, instances });
      const from = snapshot.revision + 1;
      this.#watchers.push(
        nodeLinks.watchDeletion(this.node.grid, this.node.name, from, () =>
          this.close(LINK_CLOSE.nodeDeleted, "the node was deleted"),
        ),
        nodeInstances.watchDesired(this.node.grid, this.node.name, from, (change) => {
          this.#outbox = this.#outbox
            .then(async () => {
              // A deleted node's instances go with it: that ends the link, it must not remove containers.
              if (change.delete.length > 0 && !(await nodeLinks.exists(this.node.grid, this.node.name))) {
                this.close(LINK_CLOSE.nodeDeleted, "the node was deleted");
              } else {
                this.#send({ type: "desired.change", ...change, put: await this.#withSecrets(change.put) });
              }
            })
            .catch((error: unknown) => this.#fail(error));
        }),
      );
      this.#pingTimer = setInterval(() => this.#ping(), this.#context.pingIntervalMs);
      this.#logger.info({ agent_version: hello.agent_version, joined: nodeToken !== null }, "agent connected");
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Ends the link with a close code; cleanup follows when the socket has closed. */
  close(code: number, reason: string): void {
    closeLink(this.#socket, code, reason);
  }

  /**
   * Each instance's secret refs as `NAME=value` env entries, in place of any env entry of the
   * same name. A missing secret is left out and logged as the
   * instance's problem, by name only.
   */
  async #withSecrets(instances: readonly DesiredInstance[]): Promise<DesiredInstance[]> {
    return Promise.all(
      instances.map(async (instance) => {
        if (instance.secrets.length === 0) return instance;
        const resolved: string[] = [];
        for (const ref of instance.secrets) {
          const value = await this.#context.secrets.valueFor(instance.grid, ref.secret);
          if (value === null) {
            this.#logger.warn(
              { instance: instance.id, secret: ref.secret, env: ref.name },
              "an instance's secret does not exist; it starts without it",
            );
          } else resolved.push(`${ref.name}=${value}`);
        }
        const names = new Set(resolved.map((entry) => entry.slice(0, entry.indexOf("="))));
        const env = instance.env.filter((entry) => !names.has(entry.split("=", 1)[0]!));
        return { ...instance, env: [...env, ...resolved] };
      }),
    );
  }

  #send(message: LinkMessage): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  /** The agent answered a ping: the link lives, and so does its lease (renewed once per ping, not per message). */
  #ponged(): void {
    this.#alive = true;
    if (this.#link) void this.#context.nodeLinks.keepAlive(this.#link).catch((error: unknown) => this.#fail(error));
  }

  #ping(): void {
    if (!this.#alive) {
      this.#logger.warn("agent link silent for too long; dropping it");
      this.#socket.terminate();
      return;
    }
    this.#alive = false;
    this.#socket.ping();
  }

  #receive(text: string, isBinary: boolean): void {
    const parsed = isBinary
      ? { ok: false as const, error: "binary frames carry no message yet" }
      : parseLinkMessage(agentMessageSchema, text);
    if (!parsed.ok) {
      this.#logger.warn({ reason: parsed.error }, "agent sent a bad message; closing its link");
      this.close(LINK_CLOSE.protocolError, parsed.error);
      return;
    }
    if (++this.#pending >= MAX_PENDING_MESSAGES) this.#socket.pause();
    this.#inbox = this.#inbox
      .then(() => this.#handle(parsed.message))
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        if (--this.#pending === 0) this.#socket.resume();
      });
  }

  async #handle(message: AgentMessage): Promise<void> {
    const { grid, name } = this.node;
    switch (message.type) {
      case "registry.credentials.request": {
        const credentials = await this.#context.pullCredentials.forPull(grid, name, message.image);
        // The password goes into this answer only; the log says whether a login went out, never which.
        this.#logger.debug({ image: message.image, login: credentials !== null }, "registry login asked for a pull");
        return this.#send({ type: "registry.credentials", request_id: message.request_id, credentials });
      }
      case "node.usage":
        return this.#context.nodeLinks.recordUsage(grid, name, message.resource_usage);
      case "instances.actual":
        return this.#context.nodeInstances.recordActual(grid, name, message.instances, message.complete);
      case "container.events":
        return this.#context.nodeLinks.recordEvents(grid, name, message.events);
    }
  }

  #fail(error: unknown): void {
    if (error instanceof AdmissionRefusedError) {
      this.close(closeCodeFor(error.refusal), error.message);
      return;
    }
    this.#logger.error({ err: error }, "agent link failed; closing it");
    this.close(1011, "the master failed to handle the link; reconnect");
  }

  #end(): Promise<void> {
    this.#cleanup ??= (async () => {
      clearInterval(this.#pingTimer);
      for (const watcher of this.#watchers) watcher.cancel();
      await this.#inbox;
      if (this.#link) {
        await this.#context.nodeLinks
          .disconnect(this.#link)
          .catch((error: unknown) => this.#logger.warn({ err: error }, "could not record the disconnect"));
      }
      this.#logger.info("agent disconnected");
    })();
    return this.#cleanup;
  }
}
