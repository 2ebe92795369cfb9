import type { CoreServices } from "../../core/core-services.ts";
import { installAuthHook } from "../../http/auth-hook.ts";
import type { Face } from "../../http/face.ts";
import { renderDirectorError } from "./director-error-renderer.ts";
import { registerInfoRoutes } from "./info-routes.ts";
import { registerTaskRoutes } from "./task-routes.ts";

/** The BOSH Director API: operations as tasks, stacks as deployments. */
export function createDirectorFace(core: Pick<CoreServices, "identity" | "authenticator" | "operations">): Face {
  return {
    name: "director",
    mounts: ["/info", "/tasks", "/task", "/deployments", "/stemcells", "/releases"],
    renderError: renderDirectorError,
    register(app) {
      // JSON only for now; POST /deployments will add text/yaml.
      app.removeContentTypeParser("text/plain");
      installAuthHook(app, core.authenticator, { basicRealm: "Berth Director" });
      registerInfoRoutes(app, core.identity);
      registerTaskRoutes(app, core.operations);
    },
  };
}
