import type { z } from "zod";
import { ValidationError } from "../errors/validation-error.ts";

/** The field name used for problems with the input as a whole (not an object, not JSON…). */
export const ROOT_FIELD = "body";

/**
 * Parses untrusted input with a zod schema; on failure throws ValidationError with one
 * message per field (the first issue wins), so every face can show which field is wrong.
 */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // No prototype, so field names like "constructor" are plain keys.
  const fields: Record<string, string> = Object.create(null);
  for (const issue of result.error.issues) {
    const field = issue.path.length === 0 ? ROOT_FIELD : issue.path.map(String).join(".");
    fields[field] ??= issue.message;
  }
  throw new ValidationError(fields);
}
