import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AccessTokenService } from "../../core/oauth2/access-token-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { accessTokenJson } from "./access-token-json.ts";

const tokenParamsSchema = z.object({ id: z.string() });

/** `/oauth2/tokens`: the caller's own access tokens. Another user's token is answered 404, like a made-up id. */
export function registerAccessTokenRoutes(app: FastifyInstance, tokens: AccessTokenService): void {
  app.get("/oauth2/tokens", async (request) => {
    const { user } = principalOf(request);
    return { tokens: (await tokens.list(user.id)).map((token) => accessTokenJson(token, user)) };
  });

  app.get("/oauth2/tokens/:id", async (request) => {
    const { user } = principalOf(request);
    const { id } = parseInput(tokenParamsSchema, request.params);
    return accessTokenJson(await tokens.get(user.id, id), user);
  });

  // Revokes at once: the token's next request is a 401, and its refresh token is dead too.
  app.delete("/oauth2/tokens/:id", async (request) => {
    const { user } = principalOf(request);
    await tokens.revoke(user.id, parseInput(tokenParamsSchema, request.params).id);
    return {};
  });
}
