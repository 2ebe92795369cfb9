import { assertMasterAdmin } from "../auth/access-policy.ts";
import type { Principal } from "../auth/principal.ts";
import { OAuth2Error } from "../errors/oauth2-error.ts";
import type { User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";

/**
 * Whom a token made through /oauth2/authorize belongs to: the caller, or, for a master_admin
 * (Kontena's `token create --user`), the user named by e-mail address or username.
 */
export async function tokenOwner(
  principal: Principal,
  requested: string | undefined,
  users: UserService,
): Promise<User> {
  if (requested === undefined) return principal.user;
  assertMasterAdmin(principal);
  const owner =
    (await users.findByEmail(requested)) ?? (await users.list()).find((user) => user.username === requested);
  if (!owner) throw new OAuth2Error("invalid_request", `user ${requested} not found`);
  return owner;
}
