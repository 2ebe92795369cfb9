import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";

/**
 * Consul reads request bodies whatever their content type (clients send KV values and event payloads
 * as application/json, or with no type at all): every route of the face gets the raw bytes.
 */
export function acceptRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
}

/** The request body as bytes; empty when none was sent. */
export function rawBody(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

/**
 * Decodes a JSON body the way Consul's Go decoder does, or throws a 400 "Request decode failed: …".
 * Use `consulObject` for the schema's objects, so field names match case-insensitively.
 */
export function decodeJsonBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  const text = rawBody(body).toString("utf8");
  if (text.trim() === "") throw new BadRequestError("Request decode failed: the request body is empty");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`Request decode failed: ${(error as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  throw new BadRequestError(`Request decode failed: ${path === "" ? "" : `${path}: `}${issue?.message ?? "invalid"}`);
}

/** Lower case without underscores: "EnableTagOverride", "enableTagOverride" and "enable_tag_override" agree. */
const fold = (name: string): string => name.replaceAll("_", "").toLowerCase();

/**
 * A JSON object with Consul's field names. Go matches names case-insensitively and Consul also takes
 * snake_case, so any spelling of a field is accepted; unknown fields are ignored, as Go does.
 */
export function consulObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const canonical = new Map(Object.keys(shape).map((name) => [fold(name), name]));
  return z.preprocess(
    (input) => {
      if (input === null || typeof input !== "object" || Array.isArray(input)) return input;
      const renamed: Record<string, unknown> = Object.create(null);
      for (const [name, value] of Object.entries(input)) renamed[canonical.get(fold(name)) ?? name] = value;
      return renamed;
    },
    z.object(shape, { error: "must be a JSON object" }),
  );
}

/** A string map (meta, tagged addresses); null is an empty map, as in Go. */
export const stringMapSchema = z
  .record(z.string(), z.string({ error: "values must be strings" }), { error: "must be an object of strings" })
  .nullish()
  .transform((map) => ({ ...map }));
