import type { CoreServices } from "../../core/core-services.ts";
import type { Face } from "../../http/face.ts";
import { registerAclRoutes } from "./acl-routes.ts";
import { registerAgentRoutes } from "./agent-routes.ts";
import { registerCatalogRoutes } from "./catalog-routes.ts";
import { installConsulAclHook } from "./consul-acl-hook.ts";
import { acceptRawBodies } from "./consul-body.ts";
import { renderConsulError } from "./consul-error-renderer.ts";
import { installConsulJson } from "./consul-json.ts";
import { registerEventRoutes } from "./event-routes.ts";
import { registerConsulHealthRoutes } from "./health-routes.ts";
import { registerKvRoutes } from "./kv-routes.ts";
import { registerSessionRoutes } from "./session-routes.ts";
import { registerStatusRoutes } from "./status-routes.ts";
import { registerTxnRoutes } from "./txn-routes.ts";

/** The Consul-compatible API: service discovery, health, KV, sessions, ACLs, events. */
export function createConsulFace(
  core: Pick<
    CoreServices,
    | "cluster"
    | "blockingQueries"
    | "acl"
    | "aclTokens"
    | "datacenters"
    | "catalog"
    | "consulAgent"
    | "events"
    | "kv"
    | "sessions"
  >,
): Face {
  return {
    name: "consul",
    mounts: [
      "/v1/kv",
      "/v1/agent",
      "/v1/catalog",
      "/v1/health",
      "/v1/session",
      "/v1/acl",
      "/v1/event",
      "/v1/status",
      "/v1/txn",
    ],
    renderError: renderConsulError,
    register(app) {
      // First, so that every route below gets `request.acl`.
      installConsulAclHook(app, core.acl);
      acceptRawBodies(app);
      installConsulJson(app);
      registerStatusRoutes(app, core.cluster);
      registerAclRoutes(app, core);
      registerAgentRoutes(app, { ...core, agent: core.consulAgent });
      registerCatalogRoutes(app, core);
      registerConsulHealthRoutes(app, core);
      registerEventRoutes(app, core);
      registerKvRoutes(app, core);
      registerTxnRoutes(app, core);
      registerSessionRoutes(app, core);
    },
  };
}
