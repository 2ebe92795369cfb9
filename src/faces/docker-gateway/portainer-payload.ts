import type { z } from "zod";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { ValidationError } from "../../core/errors/validation-error.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { fieldsText } from "../../http/problem-text.ts";

/** Parses a request body as Portainer does: a payload that fails validation is a 400 "Invalid request payload" naming the field. */
export function parsePortainerPayload<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  try {
    return parseInput(schema, body);
  } catch (error) {
    if (error instanceof ValidationError)
      throw new BadRequestError(`Invalid request payload: ${fieldsText(error.fields)}`);
    throw error;
  }
}
