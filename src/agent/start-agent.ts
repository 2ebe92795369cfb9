import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { berthVersion } from "../config/berth-version.ts";
import { ConfigError } from "../config/config-error.ts";
import type { ActualInstance } from "../protocol/instance-spec.ts";
import { type ContainerEvent, LINK_CLOSE, type MasterMessage, type WelcomeMessage } from "../protocol/link-messages.ts";
import { AgentLinkClient, type LinkClientCredentials } from "./agent-link-client.ts";
import { Converger } from "./converger.ts";
import { DockerRuntime } from "./docker-runtime.ts";
import { DockerUnreachableError } from "./docker-unreachable-error.ts";
import { collectNodeFacts, ResourceSampler } from "./node-facts.ts";
import { type NodeIdentity, nodeIdentityPath, readNodeIdentity, writeNodeIdentity } from "./node-identity-file.ts";
import { PullCredentialsClient } from "./pull-credentials-client.ts";
import type { BackoffPolicy } from "./reconnect-backoff.ts";

export interface AgentOptions {
  readonly masterUrl: string;
  /** A PEM file of the certificate authorities a wss:// (https://) master's certificate must chain to. */
  readonly masterCa?: string;
  /** Needed until the agent has joined and stored its identity. */
  readonly gridToken?: string;
  /** The node's name when it joins; a stored identity keeps its own. */
  readonly name: string;
  /** Labels the node gets when it joins. */
  readonly labels: readonly string[];
  /** Docker endpoint, unix:///… or tcp://…. */
  readonly docker: string;
  /** Holds the node identity (0600). */
  readonly dataDir: string;
  readonly logger: Logger;
  /** How often resource usage goes to the master. Default one minute. */
  readonly usageIntervalMs?: number;
  readonly backoff?: BackoffPolicy;
  /** The version the agent announces; tests pretend another one. */
  readonly agentVersion?: string;
  /** The agent's clock; tests skew it. */
  readonly now?: () => number;
}

export interface RunningAgent {
  /** The node's name: the stored identity's, or the one it joins with. */
  readonly nodeName: string;
  /** Resolves after close(); rejects with LinkRefusedError once the master refused the agent (it has stopped). */
  readonly stopped: Promise<void>;
  /** Stops the agent; its containers keep running. */
  close(): Promise<void>;
}

/** Reports and events that arrive together go to the master in one message. */
const REPORT_BATCH_MS = 50;

/**
 * The agent: joins (or rejoins) the master over the link, hands every desired set to the
 * converger, and sends back instance states, container events and resource usage. The first
 * dial needs the grid token; the node token the master gives back is stored in the data dir and
 * used from then on.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { logger, dataDir } = options;
  const identityPath = nodeIdentityPath(dataDir);
  let identity = await readNodeIdentity(dataDir);
  const gridToken = options.gridToken;
  if (identity === null && gridToken === undefined) {
    throw new ConfigError(
      `--grid-token (or BERTH_GRID_TOKEN) is required: this agent has not joined yet (no ${identityPath})`,
    );
  }
  if (identity !== null && identity.master_url !== options.masterUrl) {
    logger.warn(
      { joined: identity.master_url, master: options.masterUrl },
      "the stored node identity is from another master URL",
    );
  }
  const ca = options.masterCa === undefined ? undefined : await readMasterCa(options.masterCa);
  const runtime = new DockerRuntime(options.docker);
  const facts = await collectNodeFacts(runtime).catch((error: unknown) => {
    throw new DockerUnreachableError(options.docker, error);
  });
  const nodeName = identity?.name ?? options.name;
  /** Made at the first welcome: only then is the grid known (a joining agent learns it from the master). */
  let converger: Converger | undefined;
  const sampler = new ResourceSampler(facts.engine_root_dir);

  const pendingActual = new Map<string, ActualInstance>();
  const pendingEvents: ContainerEvent[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  /** Counts welcomes, so a complete report meant for one link is not sent on the next. */
  let linkEpoch = 0;

  const link: AgentLinkClient = new AgentLinkClient({
    masterUrl: options.masterUrl,
    ca,
    agentVersion: options.agentVersion ?? berthVersion,
    now: options.now,
    backoff: options.backoff,
    logger,
    credentials: (): LinkClientCredentials =>
      identity === null
        ? { kind: "grid", token: gridToken ?? "" }
        : { kind: "node", grid: identity.grid, name: identity.name, token: identity.node_token },
    hello: async () => ({ name: nodeName, labels: [...options.labels], facts: await collectNodeFacts(runtime) }),
    advice: (code, reason) => refusalAdvice(code, reason, identityPath),
    onWelcome: async (welcome) => {
      linkEpoch++;
      if (welcome.node_token !== null) {
        const joined: NodeIdentity = {
          master_url: options.masterUrl,
          grid: welcome.node.grid,
          name: welcome.node.name,
          node_token: welcome.node_token,
        };
        await writeNodeIdentity(dataDir, joined);
        identity = joined;
        logger.info({ node: welcome.node.id, identity: identityPath }, "joined the grid; node identity stored");
      }
      converger ??= startConverger(welcome.node);
      void sendUsage();
    },
    onMessage: (message) => receive(message),
    onLinkDown: () => pullCredentials.linkDown(),
  });
  const pullCredentials = new PullCredentialsClient((message) => link.send(message));

  /** The converger of this node: it owns the containers labelled with the node's grid and name. */
  function startConverger(node: WelcomeMessage["node"]): Converger {
    const started = new Converger({
      runtime,
      grid: node.grid,
      nodeName: node.name,
      credentialsFor: (image) => pullCredentials.request(image),
    });
    started.on("actual", (actual) => {
      pendingActual.set(actual.id, actual);
      scheduleFlush();
    });
    started.on("event", (event) => {
      pendingEvents.push(event);
      scheduleFlush();
    });
    started.on("failure", (error) => logger.warn({ err: error }, "the converger hit a problem; it retries"));
    started.start();
    return started;
  }

  /** What the master sends after a welcome (which made the converger). */
  function receive(message: MasterMessage): void {
    if (converger === undefined) return;
    switch (message.type) {
      case "desired.snapshot":
        converger.setDesired(message.instances);
        void sendCompleteReport(converger, linkEpoch);
        return;
      case "desired.change":
        for (const instance of message.put) converger.upsertDesired(instance);
        for (const id of message.delete) converger.removeDesired(id);
        return;
      case "registry.credentials":
        pullCredentials.answer(message.request_id, message.credentials);
        return;
    }
  }

  /** Once the converger has caught up with a snapshot: every instance's state, replacing what the master had. */
  async function sendCompleteReport(converger: Converger, epoch: number): Promise<void> {
    await converger.settled();
    if (epoch !== linkEpoch) return;
    pendingActual.clear();
    link.send({ type: "instances.actual", complete: true, instances: converger.actualInstances() });
  }

  function flush(): void {
    flushTimer = undefined;
    if (pendingActual.size > 0) {
      link.send({ type: "instances.actual", complete: false, instances: [...pendingActual.values()] });
      pendingActual.clear();
    }
    if (pendingEvents.length > 0) link.send({ type: "container.events", events: pendingEvents.splice(0) });
  }

  function scheduleFlush(): void {
    flushTimer ??= setTimeout(flush, REPORT_BATCH_MS);
  }

  async function sendUsage(): Promise<void> {
    try {
      link.send({ type: "node.usage", resource_usage: await sampler.resourceUsage() });
    } catch (error) {
      logger.warn({ err: error }, "could not sample the host's resource usage");
    }
  }

  const usageTimer = setInterval(() => void sendUsage(), options.usageIntervalMs ?? 60_000);
  let closing: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(usageTimer);
      clearTimeout(flushTimer);
      await link.close();
      await converger?.close();
    })();
    return closing;
  };
  // A refused agent stops as well (its containers keep running).
  link.stopped.catch(() => stop());

  link.start();
  logger.info({ node: nodeName, master: options.masterUrl, docker: options.docker }, "agent started");
  return { nodeName, stopped: link.stopped, close: stop };
}

async function readMasterCa(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the master's CA file ${path}: ${(error as Error).message}`);
  }
}

/** What the operator should do about a refusal, in this agent's terms. */
function refusalAdvice(code: number, reason: string, identityPath: string): string {
  const rejoin = `to join again as a new node, remove ${identityPath} and start the agent with the grid token`;
  switch (code) {
    case LINK_CLOSE.gridTokenRejected:
      return `the master refused the grid token (${reason}): start the agent with the grid's current token (--grid-token or BERTH_GRID_TOKEN)`;
    case LINK_CLOSE.nodeTokenRejected:
      return `the master refused this node's token (${reason}); ${rejoin}`;
    case LINK_CLOSE.nodeDeleted:
      return `this node was deleted on the master (${reason}); ${rejoin}`;
    case LINK_CLOSE.replaced:
      return `another agent connected with this node's identity, so this one stops: run one agent per node identity (${identityPath})`;
    default:
      return `the master refused the agent: ${reason}`;
  }
}
