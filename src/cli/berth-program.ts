import { Command } from "commander";
import { resolveDevAgentSettings } from "../config/agent-settings.ts";
import { berthVersion } from "../config/berth-version.ts";
import {
  DEFAULT_JWT_TTL,
  DEFAULT_OPERATIONS_KEPT,
  DEFAULT_RESCHEDULE_GRACE_HA,
  DEFAULT_RESCHEDULE_GRACE_RANDOM,
  type MasterSettingsInput,
  resolveMasterSettings,
  settingEnvVars,
} from "../config/master-settings.ts";
import { addAgentCommand } from "./agent-command.ts";
import { runMaster } from "./run-master.ts";

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Receives the exit code of a command that ran to completion. */
  readonly setExitCode: (code: number) => void;
}

/** The flags shared by every command that starts a master. */
function addMasterOptions(command: Command): Command {
  return command
    .option("--host <host>", `address to listen on (env ${settingEnvVars.host})`)
    .option("--port <port>", `port to listen on, 0 for any free port (env ${settingEnvVars.port})`)
    .option("--data-dir <dir>", `directory holding the state (env ${settingEnvVars.dataDir})`)
    .option("--log-level <level>", `fatal, error, warn, info, debug, trace or silent (env ${settingEnvVars.logLevel})`)
    .option("--jwt-ttl <duration>", `lifetime of login JWTs, e.g. 8h or 3600 (env ${settingEnvVars.jwtTtl})`)
    .option(
      "--consul-acl <mode>",
      `Consul ACLs enabled (default) or disabled (env ${settingEnvVars.consulAcl}; master token: env BERTH_CONSUL_ACL_MASTER_TOKEN)`,
    )
    .option(
      "--consul-acl-default-policy <policy>",
      `allow or deny (default) what no Consul ACL rule covers (env ${settingEnvVars.consulAclDefaultPolicy})`,
    )
    .option(
      "--consul-script-checks <mode>",
      `let Consul script checks run programs on the master: enabled or disabled (default) (env ${settingEnvVars.consulScriptChecks})`,
    )
    .option(
      "--reschedule-grace-ha <duration>",
      `how long a node may be offline before its ha instances move, e.g. 2m (default) or 120 (env ${settingEnvVars.rescheduleGraceHa})`,
    )
    .option(
      "--reschedule-grace-random <duration>",
      `how long a node may be offline before its random instances move, e.g. 30s (default) (env ${settingEnvVars.rescheduleGraceRandom})`,
    )
    .option(
      "--operations-kept <count>",
      `finished operations (Director tasks) kept, at least 100; older ones are deleted (default ${DEFAULT_OPERATIONS_KEPT}, env ${settingEnvVars.operationsKept})`,
    );
}

/** What `berth master` assumes for unset settings; `berth dev` changes only where it listens and keeps data. */
const MASTER_DEFAULTS = {
  host: "0.0.0.0",
  port: "8500",
  logLevel: "info",
  jwtTtl: DEFAULT_JWT_TTL,
  consulAcl: "enabled",
  consulAclDefaultPolicy: "deny",
  consulScriptChecks: "disabled",
  rescheduleGraceHa: DEFAULT_RESCHEDULE_GRACE_HA,
  rescheduleGraceRandom: DEFAULT_RESCHEDULE_GRACE_RANDOM,
  operationsKept: DEFAULT_OPERATIONS_KEPT,
} as const;

/** Secrets come from the environment only: flags would show them to everyone running `ps`. */
function masterSecrets(env: CliContext["env"]) {
  return {
    masterKey: env.BERTH_MASTER_KEY,
    adminPassword: env.BERTH_ADMIN_PASSWORD,
    consulAclMasterToken: env.BERTH_CONSUL_ACL_MASTER_TOKEN,
  };
}

/** The `berth` command line. Commands throw ConfigError for bad settings; the caller turns it into exit code 2. */
export function createBerthProgram(context: CliContext): Command {
  const program = new Command("berth")
    .description("Self-hosted container orchestration: a master with five HTTP faces, and agents on Docker hosts.")
    .version(berthVersion)
    .configureOutput({ writeOut: context.out, writeErr: context.err })
    .exitOverride();

  addMasterOptions(program.command("master").description("run a master (the control plane) in the foreground"))
    .exitOverride()
    .action(async (flags: MasterSettingsInput) => {
      const settings = resolveMasterSettings(flags, context.env, MASTER_DEFAULTS);
      context.setExitCode(await runMaster({ ...settings, ...masterSecrets(context.env) }, false));
    });

  addMasterOptions(
    program
      .command("dev")
      .description("run a development setup on this machine: a master on 127.0.0.1:8500, data in ./.berth"),
  )
    .exitOverride()
    .action(async (flags: MasterSettingsInput) => {
      const settings = resolveMasterSettings(flags, context.env, {
        ...MASTER_DEFAULTS,
        host: "127.0.0.1",
        dataDir: ".berth",
      });
      // A local agent starts with it when Docker answers (BERTH_NODE_NAME, BERTH_DOCKER_HOST as for `berth agent`).
      const devAgent = resolveDevAgentSettings(context.env);
      context.setExitCode(await runMaster({ ...settings, ...masterSecrets(context.env), devAgent }, true));
    });

  addAgentCommand(program, context);

  return program;
}
