import { randomBytes } from "node:crypto";
import { z } from "zod";

const variableSpec = z
  .strictObject({
    type: z
      .enum(["string", "integer", "boolean", "enum"], "must be string, integer, boolean or enum")
      .default("string"),
    description: z.string().optional(),
    // `value` is fixed by the author; `default` is what is used when nothing else gives one.
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    options: z.array(z.union([z.string(), z.number()])).optional(),
    required: z.boolean().default(true),
    from: z
      .strictObject({
        env: z.string().min(1).optional(),
        random_string: z.int().min(1).max(1024).optional(),
      })
      .optional(),
  })
  .superRefine((variable, ctx) => {
    if (variable.type === "enum" && (variable.options === undefined || variable.options.length === 0))
      ctx.addIssue({ code: "custom", path: ["options"], message: "an enum needs a list of options" });
  });

export const variablesSpec = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not a variable name"),
  variableSpec,
);

export type VariableSpec = z.output<typeof variableSpec>;
export type VariableValue = string | number | boolean;

/** Where values come from besides the file: the deployer's (`--values`) and an environment. */
export type VariableSources = {
  readonly values?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
};

/** Alphanumerics only, so a generated password survives shells, URLs and YAML unquoted. */
function randomString(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join("");
}

/** Converts a raw value to the variable's type; values from the environment are always text. */
function coerce(variable: VariableSpec, raw: unknown): VariableValue | { error: string } {
  const text = String(raw);
  switch (variable.type) {
    case "integer":
      return /^-?\d+$/.test(text) ? Number(text) : { error: `"${text}" is not an integer` };
    case "boolean":
      if (/^(true|yes|1)$/i.test(text)) return true;
      if (/^(false|no|0)$/i.test(text)) return false;
      return { error: `"${text}" is not a boolean` };
    case "enum": {
      const options = (variable.options ?? []).map(String);
      return options.includes(text) ? text : { error: `"${text}" is not one of ${options.join(", ")}` };
    }
    default:
      return text;
  }
}

/**
 * Resolves one variable: the file's fixed `value`, else the deployer's value, else the
 * environment (from.env), else a random string (from.random_string), else the default.
 * Undefined when nothing gives a value.
 */
export function resolveVariable(
  name: string,
  variable: VariableSpec,
  sources: VariableSources,
): VariableValue | undefined | { error: string } {
  const given = sources.values?.[name];
  const fromEnv = variable.from?.env === undefined ? undefined : sources.env?.[variable.from.env];
  const randomLength = variable.from?.random_string;
  // `??` stops at the first value, so a random string is only drawn when it is used.
  const raw =
    variable.value ??
    given ??
    fromEnv ??
    (randomLength === undefined ? undefined : randomString(randomLength)) ??
    variable.default;
  return raw === undefined || raw === null ? undefined : coerce(variable, raw);
}
