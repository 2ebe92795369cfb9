import type { CoreServices } from "../../core/core-services.ts";
import { installAuthHook } from "../../http/auth-hook.ts";
import type { Face } from "../../http/face.ts";
import { registerAuthRoutes } from "./auth-routes.ts";
import { renderDockerGatewayError } from "./docker-gateway-error-renderer.ts";

/** The Portainer-compatible Docker gateway: every node's engine, behind Berth's auth. Engine routes come with the gateway issue. */
export function createDockerGatewayFace(core: Pick<CoreServices, "adminSetup" | "authenticator" | "jwt">): Face {
  return {
    name: "docker-gateway",
    mounts: ["/api"],
    renderError: renderDockerGatewayError,
    register(app) {
      app.removeContentTypeParser("text/plain");
      installAuthHook(app, core.authenticator);
      registerAuthRoutes(app, core);
    },
  };
}
