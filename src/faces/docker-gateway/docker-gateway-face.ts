import type { Face } from "../../http/face.ts";
import { renderDockerGatewayError } from "./docker-gateway-error-renderer.ts";

/** The Portainer-compatible Docker gateway: every node's engine, behind Berth's auth. Routes come with the gateway issue. */
export function createDockerGatewayFace(): Face {
  return {
    name: "docker-gateway",
    mounts: ["/api"],
    renderError: renderDockerGatewayError,
    register(app) {
      app.removeContentTypeParser("text/plain");
    },
  };
}
