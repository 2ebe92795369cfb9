import type { FastifyInstance } from "fastify";
import type { HostState } from "./http-host.ts";

/** Liveness and readiness probes, outside every face and unauthenticated. */
export function registerHealthRoutes(app: FastifyInstance, state: () => HostState): void {
  // Alive as long as the event loop answers.
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok" }));

  // Ready once the store is open and the master has started; not while starting or draining.
  app.get("/readyz", { config: { public: true } }, async (_request, reply) => {
    const current = state();
    if (current === "ready") return { status: "ready" };
    return reply.code(503).send({ status: current === "starting" ? "starting" : "shutting down" });
  });
}
