import type { CoreServices } from "../../core/core-services.ts";
import { installAuthHook } from "../../http/auth-hook.ts";
import type { Face } from "../../http/face.ts";
import { registerAccessTokenRoutes } from "./access-token-routes.ts";
import { registerConfigRoutes } from "./config-routes.ts";
import { registerGridMemberRoutes } from "./grid-member-routes.ts";
import { registerGridRoutes } from "./grid-routes.ts";
import { renderNativeError } from "./native-error-renderer.ts";
import { registerNodeRoutes } from "./node-routes.ts";
import { registerOAuth2Routes } from "./oauth2-routes.ts";
import { registerRegistryRoutes } from "./registry-routes.ts";
import { registerSecretRoutes } from "./secret-routes.ts";
import { registerServiceRoutes } from "./service-routes.ts";
import { registerStackRoutes, STACK_FILE_TYPES } from "./stack-routes.ts";
import { registerUserRoutes } from "./user-routes.ts";

/** Berth's own API (the Kontena master API). */
export function createNativeFace(
  core: Pick<
    CoreServices,
    | "config"
    | "users"
    | "authenticator"
    | "grids"
    | "gridMembers"
    | "secrets"
    | "registries"
    | "accessTokens"
    | "authorizationCodes"
    | "externalLogin"
    | "nodes"
    | "services"
    | "stacks"
    | "operations"
  >,
): Face {
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
      "/v1/users",
      "/v1/user",
    ],
    renderError: renderNativeError,
    register(app) {
      // JSON only: a text/plain body is a client mistake here, answered 415.
      app.removeContentTypeParser("text/plain");
      installAuthHook(app, core.authenticator);
      registerConfigRoutes(app, core.config);
      registerUserRoutes(app, core.users, core.authenticator);
      registerGridRoutes(app, core.grids);
      registerGridMemberRoutes(app, core.gridMembers);
      registerSecretRoutes(app, core.secrets);
      registerRegistryRoutes(app, core.registries);
      registerNodeRoutes(app, core.nodes);
      // Stack files come as YAML text; the stack routes parse them.
      app.addContentTypeParser(STACK_FILE_TYPES, { parseAs: "string" }, (_request, body, done) => done(null, body));
      registerServiceRoutes(app, core.services, core.operations);
      registerStackRoutes(app, core.stacks, core.services, core.operations);
      registerOAuth2Routes(app, core);
      registerAccessTokenRoutes(app, core.accessTokens);
    },
  };
}
