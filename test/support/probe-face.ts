import { setTimeout as sleep } from "node:timers/promises";
import type { CoreServices } from "../../src/core/core-services.ts";
import { renderConsulError } from "../../src/faces/consul/consul-error-renderer.ts";
import { parseBlockingQueryParams } from "../../src/http/blocking-query-params.ts";
import { clientGoneSignal } from "../../src/http/client-gone-signal.ts";
import type { Face } from "../../src/http/face.ts";
import type { StateStore } from "../../src/store/state-store.ts";

/** Where the probe's long poll looks for changes. */
export const PROBE_PREFIX = "/probe/";

/**
 * A test-only face for what the real routes cannot provoke: a crash, a slow handler, a long
 * poll. Its errors are plain text (Consul's renderer) to tell them from the native fallback.
 */
export function createProbeFace(core: CoreServices, store: StateStore): Face {
  return {
    name: "probe",
    mounts: ["/probe"],
    bodyLimit: 512 * 1024,
    renderError: renderConsulError,
    register(app) {
      app.get("/probe/crash", async () => {
        throw new Error("secret detail: password=hunter2 at /etc/berth");
      });
      app.get("/probe/reject", async () => Promise.reject("not even an Error"));
      app.get("/probe/slow", async (request) => {
        await sleep(Number((request.query as { ms?: string }).ms ?? 300));
        return { done: true };
      });
      app.post("/probe/echo", async (request) => request.body);
      app.get("/probe/watch", async (request, reply) => {
        const params = parseBlockingQueryParams(request.query);
        const result = await core.blockingQueries.blockingQuery({
          ...params,
          prefixes: [PROBE_PREFIX],
          run: async () => ({
            index: store.lastChange(PROBE_PREFIX),
            value: (await store.range(PROBE_PREFIX, { prefix: true })).count,
          }),
          signal: clientGoneSignal(reply),
        });
        reply.header("x-consul-index", String(result.index));
        return { keys: result.value };
      });
    },
  };
}
