import type { AccessToken, IssuedToken } from "../../core/oauth2/access-token-record.ts";
import type { User } from "../../core/users/user-record.ts";

/** The owner as Kontena shows it with a token. */
function tokenUserJson(user: User) {
  return { id: user.id, email: user.email, name: user.username };
}

/**
 * A token endpoint answer (RFC 6749 §5.1, plus Kontena's `id` and `user`). A token that never
 * expires has neither `expires_in` nor `refresh_token`: OAuth2 clients read an `expires_in` of
 * 0 or null as "already expired".
 */
export function tokenResponseJson(issued: IssuedToken) {
  return {
    id: issued.token.id,
    access_token: issued.accessToken,
    token_type: "bearer",
    ...(issued.token.lifetime > 0 && { expires_in: issued.token.lifetime }),
    ...(issued.refreshToken !== null && { refresh_token: issued.refreshToken }),
    scope: issued.token.scopes.join(" "),
    user: tokenUserJson(issued.user),
  };
}

/** A token in the listing: never its secrets, only their last four characters. */
export function accessTokenJson(token: AccessToken, owner: User, now = Date.now()) {
  return {
    id: token.id,
    token_type: "bearer",
    access_token_last_four: token.access_token_last_four,
    refresh_token_last_four: token.refresh_token_last_four,
    // Seconds left, 0 once expired (still refreshable), null for a token that never expires.
    expires_in: token.expires_at === null ? null : Math.max(0, Math.round((Date.parse(token.expires_at) - now) / 1000)),
    scopes: token.scopes.join(","),
    description: token.description,
    created_at: token.created_at,
    user: tokenUserJson(owner),
  };
}
