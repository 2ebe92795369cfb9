import type { CoreServices } from "../../core/core-services.ts";
import type { Face } from "../../http/face.ts";
import { registerConfigRoutes } from "./config-routes.ts";
import { renderNativeError } from "./native-error-renderer.ts";

/** Berth's own API (the Kontena master API). */
export function createNativeFace(core: Pick<CoreServices, "config">): Face {
  return {
    name: "native",
    mounts: [
      "/v1/grids",
      "/v1/nodes",
      "/v1/stacks",
      "/v1/services",
      "/v1/secrets",
      "/v1/external_registries",
      "/v1/certificates",
      "/v1/volumes",
      "/v1/config",
      "/oauth2",
      "/cb",
    ],
    renderError: renderNativeError,
    register(app) {
      // JSON only: a text/plain body is a client mistake here, answered 415.
      app.removeContentTypeParser("text/plain");
      registerConfigRoutes(app, core.config);
    },
  };
}
