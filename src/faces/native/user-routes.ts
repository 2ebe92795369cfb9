import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { assertMasterAdmin } from "../../core/auth/access-policy.ts";
import type { Authenticator } from "../../core/auth/authenticator.ts";
import { MASTER_ROLES } from "../../core/users/user-record.ts";
import type { UserService } from "../../core/users/user-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { userJson } from "./user-json.ts";

const text = z.string({ error: "must be a string" });
const roleSchema = z.enum(MASTER_ROLES, { error: `must be one of ${MASTER_ROLES.join(", ")}` });

const newUserSchema = z
  .object({ username: text.optional(), email: text.optional(), password: text.optional() })
  .refine((input) => input.username !== undefined || input.email !== undefined, {
    error: "is required (or give an email, which then is the username)",
    path: ["username"],
  });
const roleBodySchema = z.object({ role: roleSchema });
const roleParamsSchema = z.object({ username: z.string(), role: roleSchema });
const usernameParamsSchema = z.object({ username: z.string() });
const acceptInviteSchema = z.object({ invite_code: text.min(1, { error: "must not be empty" }), password: text });

/** `/v1/user` (the caller) and `/v1/users` (user administration, master_admin only). */
export function registerUserRoutes(app: FastifyInstance, users: UserService, authenticator: Authenticator): void {
  app.get("/v1/user", async (request) => userJson(principalOf(request).user));

  // Public because the invited user has no credentials yet: the code is the credential, and
  // attempts are throttled per address like logins.
  app.post("/v1/user/invite", { config: { public: true } }, async (request) => {
    const input = parseInput(acceptInviteSchema, request.body);
    return userJson(await authenticator.acceptInvite(input.invite_code, input.password, { address: request.ip }));
  });

  app.get("/v1/users", async (request) => {
    assertMasterAdmin(principalOf(request));
    return { users: (await users.list()).map(userJson) };
  });

  // Without a password this is an invite: the answer carries a one-time invite_code to pass on.
  app.post("/v1/users", async (request, reply) => {
    assertMasterAdmin(principalOf(request));
    const input = parseInput(newUserSchema, request.body);
    const created = await users.create({
      username: input.username ?? (input.email as string),
      email: input.email ?? null,
      password: input.password,
    });
    return reply.code(201).send({ ...userJson(created.user), invite_code: created.invite_code });
  });

  app.delete("/v1/users/:username", async (request) => {
    assertMasterAdmin(principalOf(request));
    await users.remove(parseInput(usernameParamsSchema, request.params).username);
    return {};
  });

  app.post("/v1/users/:username/roles", async (request) => {
    assertMasterAdmin(principalOf(request));
    const { username } = parseInput(usernameParamsSchema, request.params);
    return userJson(await users.addRole(username, parseInput(roleBodySchema, request.body).role));
  });

  app.delete("/v1/users/:username/roles/:role", async (request) => {
    assertMasterAdmin(principalOf(request));
    const { username, role } = parseInput(roleParamsSchema, request.params);
    return userJson(await users.removeRole(username, role));
  });
}
