import { hostname } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_DOCKER_ENDPOINT, dockerClientOptions } from "../agent/docker-endpoint.ts";
import { nodeLabelsSchema, nodeNameSchema } from "../protocol/node-facts.ts";
import { type LogLevel, logLevelSchema } from "./log-level.ts";
import { pickSetting, requireSetting, type SettingSource } from "./pick-setting.ts";

/** The agent's settings after flags, environment and defaults are merged and checked. */
export interface AgentSettings {
  /** The master's base URL, http(s)://host:port. */
  readonly masterUrl: string;
  /** Absolute path of a PEM file: the CAs a wss:// (https://) master's certificate must chain to; else Node's. */
  readonly masterCa: string | undefined;
  /** Needed to join; once joined, the agent uses the node token it stored. */
  readonly gridToken: string | undefined;
  /** The node's name when it joins. */
  readonly name: string;
  /** `key=value` labels the node gets when it joins. */
  readonly labels: readonly string[];
  /** Docker endpoint: unix:///path or tcp://host:port. */
  readonly docker: string;
  /** Absolute path; holds the node identity. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
}

/** Raw values as typed on the command line or in the environment. */
export type AgentSettingsInput = { readonly [K in keyof AgentSettings]?: string };

export const DEFAULT_AGENT_DATA_DIR = "/var/lib/berth-agent";

const isDockerEndpoint = (endpoint: string): boolean => {
  try {
    dockerClientOptions(endpoint);
    return true;
  } catch {
    return false;
  }
};

const sources = {
  masterUrl: {
    flag: "--master",
    envVar: "BERTH_MASTER_URL",
    schema: z.string().refine((text) => URL.canParse(text) && /^(https?|wss?):$/.test(new URL(text).protocol), {
      error: "must be the master's URL, like http://master.example.com:8500",
    }),
  },
  masterCa: {
    flag: "--master-ca",
    envVar: "BERTH_MASTER_CA",
    schema: z
      .string()
      .min(1, "must not be empty")
      .transform((path) => resolve(path)),
  },
  gridToken: {
    flag: "--grid-token",
    envVar: "BERTH_GRID_TOKEN",
    schema: z.string().trim().min(1, "must not be empty"),
  },
  name: { flag: "--name", envVar: "BERTH_NODE_NAME", schema: nodeNameSchema },
  labels: {
    flag: "--labels",
    envVar: "BERTH_NODE_LABELS",
    schema: z.string().transform((text, context) => {
      const labels = text
        .split(",")
        .map((label) => label.trim())
        .filter((label) => label !== "");
      const parsed = nodeLabelsSchema.safeParse(labels);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const which = typeof issue?.path[0] === "number" ? `${labels[issue.path[0]]}: ` : "";
        context.addIssue({ code: "custom", message: `${which}${issue?.message ?? "invalid labels"}` });
      }
      return labels;
    }),
  },
  docker: {
    flag: "--docker",
    envVar: "BERTH_DOCKER_HOST",
    schema: z.string().refine(isDockerEndpoint, { error: "must be unix:///path/to/docker.sock or tcp://host:port" }),
  },
  dataDir: {
    flag: "--data-dir",
    envVar: "BERTH_AGENT_DATA_DIR",
    schema: z
      .string()
      .min(1, "must not be empty")
      .transform((path) => resolve(path)),
  },
  logLevel: { flag: "--log-level", envVar: "BERTH_LOG_LEVEL", schema: z.string().pipe(logLevelSchema) },
} satisfies { [K in keyof AgentSettings]: SettingSource<z.ZodType<AgentSettings[K], string>> };

/** The flag and environment variable of each setting, for help texts. */
export const agentSettingSources: {
  readonly [K in keyof AgentSettings]: { readonly flag: string; readonly envVar: string };
} = sources;

/** The host name as a node name, when it makes one. */
export function defaultNodeName(): string | undefined {
  const name = hostname().split(".")[0] ?? "";
  return nodeNameSchema.safeParse(name).success ? name : undefined;
}

/**
 * Merges flags over environment over defaults and validates each setting.
 * Throws ConfigError naming the flag or variable the bad value came from.
 */
export function resolveAgentSettings(
  flags: AgentSettingsInput,
  env: Readonly<Record<string, string | undefined>>,
  defaults: AgentSettingsInput,
): AgentSettings {
  const required = <K extends keyof AgentSettings>(name: K): AgentSettings[K] =>
    requireSetting(
      sources[name] as SettingSource<z.ZodType<unknown, string>>,
      flags[name],
      env,
      defaults[name],
    ) as AgentSettings[K];
  return {
    masterUrl: required("masterUrl"),
    masterCa: pickSetting(sources.masterCa, flags.masterCa, env, defaults.masterCa),
    gridToken: pickSetting(sources.gridToken, flags.gridToken, env, defaults.gridToken),
    name: required("name"),
    labels: pickSetting(sources.labels, flags.labels, env, defaults.labels) ?? [],
    docker: required("docker"),
    dataDir: required("dataDir"),
    logLevel: required("logLevel"),
  };
}

/** The local agent of `berth dev`: its name and Docker endpoint, from the agent's variables or the defaults. */
export function resolveDevAgentSettings(
  env: Readonly<Record<string, string | undefined>>,
): Pick<AgentSettings, "name" | "docker"> {
  const defaults = agentDefaults();
  return {
    name: pickSetting(sources.name, undefined, env, defaults.name) ?? "dev",
    docker: requireSetting(sources.docker, undefined, env, defaults.docker),
  };
}

/** Defaults of `berth agent`. */
export function agentDefaults(): AgentSettingsInput {
  return {
    name: defaultNodeName(),
    docker: DEFAULT_DOCKER_ENDPOINT,
    dataDir: DEFAULT_AGENT_DATA_DIR,
    logLevel: "info",
  };
}
