import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Authenticator } from "../../core/auth/authenticator.ts";
import type { JwtIssuer } from "../../core/auth/jwt-issuer.ts";
import { UnauthorizedError } from "../../core/errors/unauthorized-error.ts";
import { ValidationError } from "../../core/errors/validation-error.ts";
import type { AdminSetupService } from "../../core/users/admin-setup-service.ts";
import type { User } from "../../core/users/user-record.ts";
import { usernameSchema } from "../../core/users/user-record.ts";
import { MIN_PASSWORD_LENGTH } from "../../core/users/user-service.ts";
import { parsePortainerPayload } from "./portainer-payload.ts";

const SETUP_CODE_HEADER = "x-berth-setup-code";
/** Portainer's role numbers. */
const ADMIN_ROLE = 1;
const STANDARD_ROLE = 2;

const text = z.string({ error: "must be a string" });
const adminInitSchema = z.object({
  Username: usernameSchema,
  Password: text.min(MIN_PASSWORD_LENGTH, { error: `must be at least ${MIN_PASSWORD_LENGTH} characters` }),
  SetupCode: text.optional(),
});
const authSchema = z.object({
  Username: text.min(1, { error: "must not be empty" }),
  Password: text.min(1, { error: "must not be empty" }),
});

/** A user in Portainer's shape. */
function portainerUser(user: User) {
  return {
    Id: user.id,
    Username: user.username,
    Role: user.roles.includes("master_admin") ? ADMIN_ROLE : STANDARD_ROLE,
  };
}

/** Portainer's public entry points: create the first admin, and log in for a JWT. */
export function registerAuthRoutes(
  app: FastifyInstance,
  core: { readonly adminSetup: AdminSetupService; readonly authenticator: Authenticator; readonly jwt: JwtIssuer },
): void {
  app.post("/api/users/admin/init", { config: { public: true } }, async (request) => {
    const input = parsePortainerPayload(adminInitSchema, request.body);
    const header = request.headers[SETUP_CODE_HEADER];
    const setupCode = input.SetupCode ?? (typeof header === "string" ? header : undefined);
    return portainerUser(await core.adminSetup.initAdmin(input.Username, input.Password, setupCode));
  });

  app.post("/api/auth", { config: { public: true } }, async (request) => {
    const input = parsePortainerPayload(authSchema, request.body);
    try {
      const principal = await core.authenticator.password(input.Username, input.Password, { address: request.ip });
      return { jwt: await core.jwt.issue(principal.user) };
    } catch (error) {
      // Portainer answers wrong credentials with 422, not 401.
      if (error instanceof UnauthorizedError) {
        throw new ValidationError({ credentials: "invalid username or password" }, "Invalid credentials");
      }
      throw error;
    }
  });
}
