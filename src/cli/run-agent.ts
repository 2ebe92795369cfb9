import { startAgent } from "../agent/start-agent.ts";
import type { AgentSettings } from "../config/agent-settings.ts";
import { createLogger } from "../http/http-logger.ts";
import { closeOnSignals } from "../master/shutdown-signals.ts";

/**
 * Runs an agent in the foreground until SIGINT/SIGTERM (exit code 0). Throws when it cannot
 * start (Docker unreachable, no grid token to join with) or when the master refuses it
 * (LinkRefusedError, saying what to fix); the agent has stopped then, its containers run on.
 */
export async function runAgent(settings: AgentSettings): Promise<number> {
  const agent = await startAgent({ ...settings, logger: createLogger(settings.logLevel) });
  await Promise.race([agent.stopped, closeOnSignals(agent)]);
  return 0;
}
