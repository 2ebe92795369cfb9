import type { FastifyInstance } from "fastify";
import { OAuth2Error } from "../../core/errors/oauth2-error.ts";

/**
 * Accepts `application/x-www-form-urlencoded` bodies in this scope, as OAuth2 clients send them
 * (RFC 6749 §4.1.3). Parameters land in an object without a prototype, so no name can reach
 * Object.prototype; a parameter given twice is refused (RFC 6749 §3.2).
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => {
    const params: Record<string, string> = Object.create(null);
    for (const [name, value] of new URLSearchParams(body as string)) {
      if (name in params) {
        done(new OAuth2Error("invalid_request", `parameter ${name} is given more than once`), undefined);
        return;
      }
      params[name] = value;
    }
    done(null, params);
  });
}
