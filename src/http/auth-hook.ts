import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Authenticator } from "../core/auth/authenticator.ts";
import type { Principal } from "../core/auth/principal.ts";
import { TooManyRequestsError } from "../core/errors/too-many-requests-error.ts";
import { UnauthorizedError } from "../core/errors/unauthorized-error.ts";
import { type Credentials, requestCredentials } from "./request-credentials.ts";

export interface AuthHookOptions {
  /** Also accept HTTP basic auth with a Berth user, challenging with this realm (the Director face). */
  readonly basicRealm?: string;
}

/**
 * Installs the face's authentication: every route needs a valid bearer token (JWT or access
 * token) — or basic auth where enabled — except those declared `config: { public: true }`,
 * which get a principal only when valid credentials come along. Runs before the body is read,
 * so an anonymous caller cannot make the master parse anything.
 */
export function installAuthHook(
  app: FastifyInstance,
  authenticator: Authenticator,
  options: AuthHookOptions = {},
): void {
  const challenge = options.basicRealm === undefined ? 'Bearer realm="Berth"' : `Basic realm="${options.basicRealm}"`;
  const missing =
    options.basicRealm === undefined
      ? "authentication required: send Authorization: Bearer <token>"
      : "authentication required: send HTTP basic auth or Authorization: Bearer <token>";

  app.addHook("onRequest", async (request, reply) => {
    const isPublic = request.routeOptions.config.public === true;
    try {
      const credentials = requestCredentials(request);
      if (credentials) request.principal = await authenticate(credentials, request);
      else if (!isPublic) throw new UnauthorizedError(missing);
    } catch (error) {
      // Public routes serve anonymous callers, so credentials that fail there are ignored.
      if (isPublic && (error instanceof UnauthorizedError || error instanceof TooManyRequestsError)) return;
      if (error instanceof UnauthorizedError) reply.header("www-authenticate", challenge);
      throw error;
    }
  });

  function authenticate(credentials: Credentials, request: FastifyRequest): Promise<Principal> {
    if (credentials.kind === "bearer") return authenticator.bearer(credentials.token);
    if (options.basicRealm === undefined)
      throw new UnauthorizedError("basic auth is not accepted here: send Authorization: Bearer <token>");
    return authenticator.password(credentials.username, credentials.password, { address: request.ip });
  }
}
