import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authenticator } from "../../core/auth/authenticator.ts";
import { OAuth2Error } from "../../core/errors/oauth2-error.ts";
import { UnauthorizedError } from "../../core/errors/unauthorized-error.ts";
import type { IssuedToken } from "../../core/oauth2/access-token-record.ts";
import { type AccessTokenService, DEFAULT_TOKEN_LIFETIME_SECONDS } from "../../core/oauth2/access-token-service.ts";
import type { AuthorizationCodeService } from "../../core/oauth2/authorization-code-service.ts";
import type { ExternalLoginService } from "../../core/oauth2/external-login-service.ts";
import { requestedScopes } from "../../core/oauth2/oauth2-scopes.ts";
import { tokenOwner } from "../../core/oauth2/token-owner.ts";
import type { UserService } from "../../core/users/user-service.ts";
import { principalOf } from "../../http/request-principal.ts";
import { tokenResponseJson } from "./access-token-json.ts";
import { acceptFormBodies } from "./form-body-parser.ts";
import {
  AUTHORIZE_RESPONSE_TYPES,
  authenticateSchema,
  authorizeSchema,
  callbackSchema,
  codeGrantSchema,
  oauth2Params,
  parseOAuth2Params,
  passwordGrantSchema,
  refreshGrantSchema,
} from "./oauth2-request-schemas.ts";

export interface OAuth2Services {
  readonly users: UserService;
  readonly authenticator: Authenticator;
  readonly accessTokens: AccessTokenService;
  readonly authorizationCodes: AuthorizationCodeService;
  readonly externalLogin: ExternalLoginService;
}

type Grant = (params: Record<string, unknown>, request: FastifyRequest) => Promise<IssuedToken>;

/**
 * The OAuth2 protocol endpoints: token, authorize, and the login through an external provider.
 * Their refusals carry RFC 6749 error codes (`{"error": "invalid_grant", "error_description": …}`).
 */
export function registerOAuth2Routes(app: FastifyInstance, services: OAuth2Services): void {
  const grants: Readonly<Record<string, Grant>> = {
    async password(params, request) {
      const input = parseOAuth2Params(passwordGrantSchema, params);
      const principal = await services.authenticator
        .password(input.username, input.password, { address: request.ip })
        .catch((error: unknown) => {
          // RFC 6749 §5.2: wrong resource owner credentials are an invalid grant, not a 401.
          throw error instanceof UnauthorizedError ? new OAuth2Error("invalid_grant", error.message) : error;
        });
      return services.accessTokens.issue(principal.user, {
        scopes: requestedScopes(input.scope, principal.scopes),
        lifetime: input.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      });
    },
    async authorization_code(params) {
      const input = parseOAuth2Params(codeGrantSchema, params);
      return services.authorizationCodes.redeem(input.code, {
        redirectUri: input.redirect_uri,
        codeVerifier: input.code_verifier,
      });
    },
    async refresh_token(params) {
      const input = parseOAuth2Params(refreshGrantSchema, params);
      return services.accessTokens.refresh(input.refresh_token, input.scope);
    },
  };

  // Their own scope, because OAuth2 clients post forms, which the rest of the native API refuses.
  void app.register(async (scope) => {
    acceptFormBodies(scope);

    scope.post("/oauth2/token", { config: { public: true } }, async (request, reply) => {
      const params = oauth2Params(request.body);
      const grantType = params.grant_type;
      if (grantType === undefined) throw new OAuth2Error("invalid_request", "grant_type is required");
      const grant = typeof grantType === "string" && Object.hasOwn(grants, grantType) ? grants[grantType] : undefined;
      if (!grant) {
        throw new OAuth2Error(
          "unsupported_grant_type",
          `grant_type must be one of ${Object.keys(grants).join(", ")}, not ${JSON.stringify(grantType)}`,
        );
      }
      const issued = await grant(params, request);
      return noStore(reply).send(tokenResponseJson(issued));
    });

    // Kontena's "create authorization": a token or a code for the caller, e.g. a non-expiring token for a script.
    scope.post("/oauth2/authorize", async (request, reply) => {
      const principal = principalOf(request);
      const params = oauth2Params(request.body);
      const responseType = params.response_type;
      if (responseType === undefined) throw new OAuth2Error("invalid_request", "response_type is required");
      if (!AUTHORIZE_RESPONSE_TYPES.some((known) => known === responseType)) {
        throw new OAuth2Error(
          "unsupported_response_type",
          `response_type must be one of ${AUTHORIZE_RESPONSE_TYPES.join(", ")}, not ${JSON.stringify(responseType)}`,
        );
      }
      const input = parseOAuth2Params(authorizeSchema, params);
      const owner = await tokenOwner(principal, input.user, services.users);
      const grant = {
        scopes: requestedScopes(input.scope, principal.scopes),
        lifetime: input.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
        description: input.description ?? null,
      };
      if (responseType !== "code") {
        return noStore(reply)
          .code(201)
          .send(tokenResponseJson(await services.accessTokens.issue(owner, grant)));
      }
      const code = await services.authorizationCodes.create(owner, {
        ...grant,
        redirectUri: input.redirect_uri ?? null,
        codeChallenge: input.code_challenge ?? null,
      });
      return noStore(reply)
        .code(201)
        .send({ grant_type: "authorization_code", code, redirect_uri: input.redirect_uri ?? null });
    });
  });

  app.get("/oauth2/authenticate", { config: { public: true } }, async (request, reply) => {
    const input = parseOAuth2Params(authenticateSchema, request.query);
    const location = await services.externalLogin.start({
      redirectUri: input.redirect_uri,
      inviteCode: input.invite_code ?? null,
      lifetime: input.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      clientState: input.state ?? null,
      codeChallenge: input.code_challenge ?? null,
    });
    return noStore(reply).redirect(location.href, 302);
  });

  app.get("/cb", { config: { public: true } }, async (request, reply) => {
    const { state } = parseOAuth2Params(callbackSchema, request.query);
    const outcome = await services.externalLogin.finish(state, queryOf(request.url));
    if (outcome.refused) {
      request.log.warn({ error: outcome.refused.code, reason: outcome.refused.message }, "external login refused");
    }
    return noStore(reply).redirect(outcome.location.href, 302);
  });
}

/** Answers carrying tokens or codes must not be cached (RFC 6749 §5.1). */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header("cache-control", "no-store").header("pragma", "no-cache");
}

/** The raw query, every parameter as sent, for the provider exchange (which checks `iss` and `state` itself). */
function queryOf(url: string): URLSearchParams {
  const start = url.indexOf("?");
  return new URLSearchParams(start === -1 ? "" : url.slice(start + 1));
}
