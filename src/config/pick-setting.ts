import type { z } from "zod";
import { ConfigError } from "./config-error.ts";

/** Where one setting comes from (a flag, else an environment variable) and how its text is checked. */
export interface SettingSource<Schema extends z.ZodType<unknown, string>> {
  readonly flag: string;
  readonly envVar: string;
  readonly schema: Schema;
}

/**
 * The flag's value, else the environment's (an empty variable counts as unset), else the
 * default, checked by the schema; undefined when none is given. Throws ConfigError naming the
 * flag or variable a bad value came from.
 */
export function pickSetting<Schema extends z.ZodType<unknown, string>>(
  source: SettingSource<Schema>,
  flagValue: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  defaultValue: string | undefined,
): z.output<Schema> | undefined {
  const envValue = env[source.envVar] === "" ? undefined : env[source.envVar];
  const [raw, from] =
    flagValue !== undefined
      ? [flagValue, source.flag]
      : envValue !== undefined
        ? [envValue, source.envVar]
        : [defaultValue, `default ${source.flag}`];
  if (raw === undefined) return undefined;
  const parsed = source.schema.safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? "is invalid";
    throw new ConfigError(`invalid ${from} ${JSON.stringify(raw)}: ${reason}`);
  }
  return parsed.data;
}

/** pickSetting for a setting that must be given. */
export function requireSetting<Schema extends z.ZodType<unknown, string>>(
  source: SettingSource<Schema>,
  flagValue: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  defaultValue: string | undefined,
): z.output<Schema> {
  const value = pickSetting(source, flagValue, env, defaultValue);
  if (value === undefined) throw new ConfigError(`${source.flag} (or ${source.envVar}) is required`);
  return value;
}
