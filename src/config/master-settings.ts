import { resolve } from "node:path";
import { z } from "zod";
import { ACL_DEFAULT_POLICIES, type AclDefaultPolicy } from "../core/acl/acl-settings.ts";
import { DEFAULT_OPERATIONS_KEPT as OPERATIONS_KEPT } from "../core/operations/operation-runner.ts";
import { parseGoDuration } from "../http/go-duration.ts";
import { type LogLevel, logLevelSchema } from "./log-level.ts";
import { requireSetting } from "./pick-setting.ts";

/** The master's settings after flags, environment and defaults are merged and checked. */
export interface MasterSettings {
  readonly host: string;
  readonly port: number;
  /** Absolute path. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Lifetime of the JWTs /api/auth hands out, seconds. */
  readonly jwtTtl: number;
  /** Whether the Consul face enforces ACLs. */
  readonly consulAcl: boolean;
  /** What Consul ACLs allow where no rule of the token matches. */
  readonly consulAclDefaultPolicy: AclDefaultPolicy;
  /** Whether Consul script checks may run programs on the master. */
  readonly consulScriptChecks: boolean;
  /** Seconds a node may be offline before its ha services' instances are moved off it. */
  readonly rescheduleGraceHa: number;
  /** Seconds a node may be offline before its random services' instances are moved off it. */
  readonly rescheduleGraceRandom: number;
  /** Finished operations (Director tasks) kept in the store; older ones are deleted. */
  readonly operationsKept: number;
}

/** Raw values as typed on the command line or in the environment. */
export type MasterSettingsInput = { readonly [K in keyof MasterSettings]?: string };

/** Portainer's JWT lifetime. */
export const DEFAULT_JWT_TTL = "8h";
const MAX_JWT_TTL_SECONDS = 30 * 24 * 3600;
/** Kontena's reschedule grace periods (ha 2 minutes, random 30 seconds). */
export const DEFAULT_RESCHEDULE_GRACE_HA = "2m";
export const DEFAULT_RESCHEDULE_GRACE_RANDOM = "30s";
const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const DEFAULT_OPERATIONS_KEPT = String(OPERATIONS_KEPT);
const MIN_OPERATIONS_KEPT = 100;
const MAX_OPERATIONS_KEPT = 1_000_000;

/** Seconds as a bare number or a Go duration (90s, 2m). */
const graceSchema = z
  .string()
  .transform((text) => (/^\d+$/.test(text) ? Number(text) : (parseGoDuration(text) ?? Number.NaN) / 1000))
  .refine((seconds) => Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_GRACE_SECONDS, {
    error: "must be a whole number of seconds from 1s to 168h, like 2m, 30s or 120",
  });

const settingSchemas = {
  host: z.string().trim().min(1, "must not be empty"),
  port: z
    .string()
    .regex(/^\d{1,5}$/, "must be an integer from 0 to 65535")
    .transform(Number)
    .refine((port) => port <= 65535, "must be an integer from 0 to 65535"),
  dataDir: z
    .string()
    .min(1, "must not be empty")
    .transform((path) => resolve(path)),
  logLevel: z.string().pipe(logLevelSchema),
  jwtTtl: z
    .string()
    .transform((text) => (/^\d+$/.test(text) ? Number(text) : (parseGoDuration(text) ?? Number.NaN) / 1000))
    // A JWT cannot be revoked short of deleting its user, so it must not live long; scripts use access tokens.
    .refine((seconds) => seconds >= 1 && seconds <= MAX_JWT_TTL_SECONDS, {
      error: `must be a duration from 1s to ${MAX_JWT_TTL_SECONDS / 3600}h, like 8h, 90m or 3600 (seconds)`,
    }),
  consulAcl: z
    .enum(["enabled", "disabled"], { error: "must be enabled or disabled" })
    .transform((v) => v === "enabled"),
  consulAclDefaultPolicy: z.enum(ACL_DEFAULT_POLICIES, { error: "must be allow or deny" }),
  consulScriptChecks: z
    .enum(["enabled", "disabled"], { error: "must be enabled or disabled" })
    .transform((v) => v === "enabled"),
  rescheduleGraceHa: graceSchema,
  rescheduleGraceRandom: graceSchema,
  operationsKept: z
    .string()
    .regex(/^\d{1,7}$/, `must be an integer from ${MIN_OPERATIONS_KEPT} to ${MAX_OPERATIONS_KEPT}`)
    .transform(Number)
    .refine(
      (kept) => kept >= MIN_OPERATIONS_KEPT && kept <= MAX_OPERATIONS_KEPT,
      `must be an integer from ${MIN_OPERATIONS_KEPT} to ${MAX_OPERATIONS_KEPT}`,
    ),
} satisfies { [K in keyof MasterSettings]: z.ZodType<MasterSettings[K], string> };

const flagNames: { readonly [K in keyof MasterSettings]: string } = {
  host: "--host",
  port: "--port",
  dataDir: "--data-dir",
  logLevel: "--log-level",
  jwtTtl: "--jwt-ttl",
  consulAcl: "--consul-acl",
  consulAclDefaultPolicy: "--consul-acl-default-policy",
  consulScriptChecks: "--consul-script-checks",
  rescheduleGraceHa: "--reschedule-grace-ha",
  rescheduleGraceRandom: "--reschedule-grace-random",
  operationsKept: "--operations-kept",
};

/** The environment variable behind each flag. */
export const settingEnvVars: { readonly [K in keyof MasterSettings]: string } = {
  host: "BERTH_HOST",
  port: "BERTH_PORT",
  dataDir: "BERTH_DATA_DIR",
  logLevel: "BERTH_LOG_LEVEL",
  jwtTtl: "BERTH_JWT_TTL",
  consulAcl: "BERTH_CONSUL_ACL",
  consulAclDefaultPolicy: "BERTH_CONSUL_ACL_DEFAULT_POLICY",
  consulScriptChecks: "BERTH_CONSUL_SCRIPT_CHECKS",
  rescheduleGraceHa: "BERTH_RESCHEDULE_GRACE_HA",
  rescheduleGraceRandom: "BERTH_RESCHEDULE_GRACE_RANDOM",
  operationsKept: "BERTH_OPERATIONS_KEPT",
};

/**
 * Merges flags over environment over defaults and validates each setting.
 * Throws ConfigError naming the flag or variable the bad value came from.
 */
export function resolveMasterSettings(
  flags: MasterSettingsInput,
  env: Readonly<Record<string, string | undefined>>,
  defaults: MasterSettingsInput,
): MasterSettings {
  const pick = <K extends keyof MasterSettings>(name: K): MasterSettings[K] =>
    requireSetting(
      { flag: flagNames[name], envVar: settingEnvVars[name], schema: settingSchemas[name] },
      flags[name],
      env,
      defaults[name],
    ) as MasterSettings[K];
  return {
    host: pick("host"),
    port: pick("port"),
    dataDir: pick("dataDir"),
    logLevel: pick("logLevel"),
    jwtTtl: pick("jwtTtl"),
    consulAcl: pick("consulAcl"),
    consulAclDefaultPolicy: pick("consulAclDefaultPolicy"),
    consulScriptChecks: pick("consulScriptChecks"),
    rescheduleGraceHa: pick("rescheduleGraceHa"),
    rescheduleGraceRandom: pick("rescheduleGraceRandom"),
    operationsKept: pick("operationsKept"),
  };
}
