import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import type { OperationRecord, OperationState } from "../../core/operations/operation-record.ts";
import type { OperationService } from "../../core/operations/operation-service.ts";
import { canSeeOperation } from "../../core/operations/operation-visibility.ts";
import { principalOf } from "../../http/request-principal.ts";
import { parseQuery } from "./director-query.ts";

/** BOSH's TaskNotFound. */
const TASK_NOT_FOUND_CODE = 10001;

const STATES: readonly OperationState[] = ["queued", "processing", "cancelling", "done", "errored", "cancelled"];

const taskId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const listQuery = z.object({
  state: z
    .string()
    .transform((text) => text.split(",").filter((state) => state !== ""))
    .pipe(z.array(z.enum(STATES as [OperationState, ...OperationState[]])))
    .optional(),
  limit: z.coerce.number().int().positive().max(10_000).optional(),
  // 0: what users started; 1 and 2 (BOSH's "all"): internal operations too. 1 when absent.
  verbose: z.coerce.number().int().min(0).max(2).default(1),
  deployment: z.string().min(1).optional(),
});

const outputQuery = z.object({ type: z.enum(["event", "result", "debug"]) });

function taskView(operation: OperationRecord) {
  return {
    id: operation.id,
    state: operation.state,
    description: operation.description,
    timestamp: Math.floor((operation.finishedAt ?? operation.startedAt ?? operation.createdAt) / 1000),
    started_at: operation.startedAt === null ? null : Math.floor(operation.startedAt / 1000),
    result: operation.result,
    user: operation.user,
    ...(operation.deployment === null ? {} : { deployment: operation.deployment }),
    context_id: "",
  };
}

/**
 * The task, or undefined after answering BOSH's TaskNotFound code (rather than the generic
 * not-found one); a task of a grid the caller is not in is not found either, so ids leak nothing.
 */
async function findTask(
  operations: OperationService,
  request: FastifyRequest,
  reply: FastifyReply,
  id: number,
): Promise<OperationRecord | undefined> {
  const found = await operations.find(id);
  const operation = found && canSeeOperation(principalOf(request), found) ? found : undefined;
  if (!operation) {
    await reply
      .code(404)
      .type("application/json")
      .send(JSON.stringify({ code: TASK_NOT_FOUND_CODE, description: `Task ${id} not found` }));
  }
  return operation;
}

/** `bytes=N-` or `bytes=N-M`, as the bosh CLI asks for the output it has not seen yet. */
function parseRange(header: string): { readonly start: number; readonly end: number | undefined } {
  const match = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim());
  if (!match) throw new BadRequestError(`unsupported Range: ${header}`);
  const start = Number(match[1]);
  const end = match[2] === "" ? undefined : Number(match[2]);
  if (end !== undefined && end < start) throw new BadRequestError(`unsupported Range: ${header}`);
  return { start, end };
}

function sendOutput(reply: FastifyReply, text: string, rangeHeader: string | undefined): FastifyReply {
  const bytes = Buffer.from(text, "utf8");
  reply.type("text/plain; charset=utf-8");
  if (bytes.length === 0) return reply.code(204).send();
  if (rangeHeader === undefined) return reply.code(200).send(bytes);
  const { start, end } = parseRange(rangeHeader);
  if (start >= bytes.length) return reply.code(416).header("content-range", `bytes */${bytes.length}`).send();
  const last = Math.min(end ?? bytes.length - 1, bytes.length - 1);
  return reply
    .code(206)
    .header("content-range", `bytes ${start}-${last}/${bytes.length}`)
    .send(bytes.subarray(start, last + 1));
}

/** Operations as Director tasks: list, one, output and cancel. */
export function registerTaskRoutes(app: FastifyInstance, operations: OperationService): void {
  app.get("/tasks", async (request) => {
    const query = parseQuery(listQuery, request.query);
    const list = await operations.list({
      visibleTo: principalOf(request),
      states: query.state,
      deployment: query.deployment,
      includeInternal: query.verbose > 0,
      limit: query.limit,
    });
    return list.map(taskView);
  });

  app.get<{ Params: { id: string } }>("/tasks/:id", async (request, reply) => {
    const operation = await findTask(operations, request, reply, parseQuery(taskId, request.params.id));
    return operation ? taskView(operation) : reply;
  });

  app.get<{ Params: { id: string } }>("/tasks/:id/output", async (request, reply) => {
    const id = parseQuery(taskId, request.params.id);
    const { type } = parseQuery(outputQuery, request.query);
    if (!(await findTask(operations, request, reply, id))) return reply;
    return sendOutput(reply, await operations.output(id, type), request.headers.range);
  });

  // BOSH cancels through the singular mount.
  app.delete<{ Params: { id: string } }>("/task/:id", async (request, reply) => {
    const id = parseQuery(taskId, request.params.id);
    if (!(await findTask(operations, request, reply, id))) return reply;
    await operations.cancel(id);
    return reply.code(204).send();
  });
}
