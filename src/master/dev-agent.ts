import { join } from "node:path";
import type { Logger } from "pino";
import { DockerUnreachableError } from "../agent/docker-unreachable-error.ts";
import { startAgent } from "../agent/start-agent.ts";
import { DEFAULT_GRID, type GridService } from "../core/grids/grid-service.ts";

export interface DevAgentOptions {
  readonly grids: GridService;
  /** The dev master's URL. */
  readonly masterUrl: string;
  /** The master's data directory; the agent keeps its identity in `agent/` below it. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** The node's name and Docker endpoint. */
  readonly agent: DevAgentSettings;
}

/** How `berth dev` runs its local agent. */
export interface DevAgentSettings {
  readonly name: string;
  readonly docker: string;
}

export interface DevAgent {
  /** What the banner says about it. */
  readonly banner: readonly string[];
  close(): Promise<void>;
}

/**
 * `berth dev`'s agent for this machine, in the master's process, joined to the default grid:
 * started when a Docker engine answers; otherwise the banner says how to get one and the
 * master serves without it.
 */
export async function startDevAgent(options: DevAgentOptions): Promise<DevAgent> {
  const { name, docker } = options.agent;
  if (!(await options.grids.exists(DEFAULT_GRID))) {
    return { banner: [`No local agent: the "${DEFAULT_GRID}" grid was removed.`], close: async () => {} };
  }
  const grid = await options.grids.get(DEFAULT_GRID);
  try {
    const agent = await startAgent({
      masterUrl: options.masterUrl,
      gridToken: grid.token,
      name,
      labels: [],
      docker,
      dataDir: join(options.dataDir, "agent"),
      logger: options.logger.child({ component: "agent" }),
    });
    // A refusal is logged by the agent itself; the master keeps serving.
    agent.stopped.catch(() => {});
    return {
      banner: [`Local agent: node ${agent.nodeName} of grid ${DEFAULT_GRID}, Docker at ${docker}`],
      close: agent.close,
    };
  } catch (error) {
    if (!(error instanceof DockerUnreachableError)) throw error;
    return {
      banner: [
        `No local agent: no Docker engine answers at ${docker}. Containers need one on this machine:`,
        "  apt-get install docker.io && dockerd &    (then restart berth dev)",
      ],
      close: async () => {},
    };
  }
}
