import { z } from "zod";

/** Longest configuration key; keys are dotted names like "oauth2.client_id". */
export const MAX_CONFIG_KEY_LENGTH = 256;

/** The master configuration: a flat object of string keys to string values. */
export const configValuesSchema = z.record(
  z.string().min(1, "key must not be empty").max(MAX_CONFIG_KEY_LENGTH, "key is too long"),
  z.string({ error: "must be a string" }),
  { error: "must be an object of string values" },
);

export type ConfigValues = z.infer<typeof configValuesSchema>;
