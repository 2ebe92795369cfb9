import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { DEFAULT_GRID } from "../../core/grids/grid-service.ts";

/** Query and path input is a malformed request in the Director's eyes (400), not a failed record validation. */
export function parseQuery<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new BadRequestError(`${issue?.path.map(String).join(".") || "request"}: ${issue?.message ?? "invalid"}`);
}

// Not strict: the bosh CLI adds parameters of its own (recreate, skip_drain, force…) that Berth has no use for.
const gridQuery = z.object({ grid: z.string().min(1, "must name a grid").default(DEFAULT_GRID) });

/** The grid a Director request targets: BOSH has none, so `?grid=`, else the default grid. */
export function requestGrid(request: FastifyRequest): string {
  return parseQuery(gridQuery, request.query).grid;
}
