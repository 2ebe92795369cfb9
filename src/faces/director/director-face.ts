import type { CoreServices } from "../../core/core-services.ts";
import { installAuthHook } from "../../http/auth-hook.ts";
import type { Face } from "../../http/face.ts";
import { registerDeploymentRoutes } from "./deployment-routes.ts";
import { renderDirectorError } from "./director-error-renderer.ts";
import { registerInfoRoutes } from "./info-routes.ts";
import { registerReleaseRoutes } from "./release-routes.ts";
import { registerStemcellRoutes } from "./stemcell-routes.ts";
import { registerTaskRoutes } from "./task-routes.ts";
import { registerVmRoutes } from "./vm-routes.ts";

/** The BOSH Director API: operations as tasks, stacks as deployments. */
export function createDirectorFace(
  core: Pick<CoreServices, "identity" | "authenticator" | "operations" | "stacks" | "stackVms">,
): Face {
  return {
    name: "director",
    mounts: ["/info", "/tasks", "/task", "/deployments", "/stemcells", "/releases"],
    renderError: renderDirectorError,
    register(app) {
      // JSON bodies here; POST /deployments reads its text/yaml manifest in a scope of its own.
      app.removeContentTypeParser("text/plain");
      installAuthHook(app, core.authenticator, { basicRealm: "Berth Director" });
      registerInfoRoutes(app, core.identity);
      registerTaskRoutes(app, core.operations);
      registerDeploymentRoutes(app, core.stacks);
      registerVmRoutes(app, core.stacks, core.stackVms, core.operations);
      registerStemcellRoutes(app, core.stacks);
      registerReleaseRoutes(app, core.stacks);
    },
  };
}
