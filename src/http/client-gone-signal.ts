import type { FastifyReply } from "fastify";

/**
 * A signal that aborts when the client goes away before its response is finished, so that a
 * long poll stops waiting (and releases its watches) for nobody.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
