import type { Command } from "commander";
import {
  type AgentSettingsInput,
  agentDefaults,
  agentSettingSources,
  resolveAgentSettings,
} from "../config/agent-settings.ts";
import type { CliContext } from "./berth-program.ts";
import { runAgent } from "./run-agent.ts";

/** `berth agent`: joins this Docker host to a grid and runs what the master wants on it. */
export function addAgentCommand(program: Command, context: CliContext): void {
  const env = (name: keyof typeof agentSettingSources): string => `env ${agentSettingSources[name].envVar}`;
  program
    .command("agent")
    .description("run an agent on this Docker host: it joins a grid and converges the host's containers")
    .option("--master <url>", `the master's URL, e.g. http://master:8500 (${env("masterUrl")})`)
    .option(
      "--master-ca <file>",
      `PEM file of the CAs the master's certificate must chain to, for an https:// master (${env("masterCa")})`,
    )
    .option(
      "--grid-token <token>",
      `the grid's token, needed to join; prefer the variable, flags show in ps (${env("gridToken")})`,
    )
    .option("--name <name>", `the node's name when it joins; default: the host name (${env("name")})`)
    .option("--labels <labels>", `the node's labels when it joins: key=value,key=value (${env("labels")})`)
    .option("--docker <endpoint>", `Docker endpoint, unix:///path or tcp://host:port (${env("docker")})`)
    .option("--data-dir <dir>", `where the node identity is kept (${env("dataDir")})`)
    .option("--log-level <level>", `fatal, error, warn, info, debug, trace or silent (${env("logLevel")})`)
    .exitOverride()
    .action(async (flags: Omit<AgentSettingsInput, "masterUrl"> & { master?: string }) => {
      const { master, ...rest } = flags;
      const settings = resolveAgentSettings({ ...rest, masterUrl: master }, context.env, agentDefaults());
      context.setExitCode(await runAgent(settings));
    });
}
