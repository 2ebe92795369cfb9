import type { CoreServices } from "../../core/core-services.ts";
import { installAuthHook } from "../../http/auth-hook.ts";
import type { Face } from "../../http/face.ts";
import { renderNetworkError } from "./network-error-renderer.ts";

/** The libnetwork-style network API: grid networks, endpoints, published services. Routes come with the network issue. */
export function createNetworkFace(core: Pick<CoreServices, "authenticator">): Face {
  return {
    name: "network",
    mounts: ["/networks", "/services"],
    renderError: renderNetworkError,
    register(app) {
      app.removeContentTypeParser("text/plain");
      installAuthHook(app, core.authenticator);
    },
  };
}
