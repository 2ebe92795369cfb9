import { z } from "zod";

/** Longest secret value, characters: room for a certificate bundle, not for a file store. */
export const MAX_SECRET_VALUE_LENGTH = 64 * 1024;

/** As Kontena's vault: word characters and dashes, not starting with a dash (SECRET_PWD, db-password). */
export const secretNameSchema = z
  .string({ error: "must be a string" })
  .max(255, "must be at most 255 characters")
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]*$/, {
    error: "must be letters, digits, underscores or dashes, not starting with a dash",
  });

const secretValueSchema = z
  .string({ error: "must be a string" })
  .max(MAX_SECRET_VALUE_LENGTH, `must be at most ${MAX_SECRET_VALUE_LENGTH} characters`);

/** POST /v1/grids/:grid/secrets */
export const newSecretSchema = z.object(
  { name: secretNameSchema, value: secretValueSchema },
  { error: "must be an object" },
);

/** PUT /v1/secrets/:grid/:name; `upsert` creates the secret when it does not exist. */
export const secretChangeSchema = z.object(
  { value: secretValueSchema, upsert: z.boolean({ error: "must be true or false" }).default(false) },
  { error: "must be an object" },
);

/** How a secret is stored under /secrets/<grid>/<name>: the value sealed under the master key. */
export const storedSecretSchema = z.object({
  name: z.string(),
  value_sealed: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StoredSecret = z.infer<typeof storedSecretSchema>;

/** A secret without its value, as lists and writes answer. */
export interface SecretSummary {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
  readonly updated_at: string;
}

/** A secret with its value, as one read answers. */
export interface Secret extends SecretSummary {
  readonly value: string;
}
