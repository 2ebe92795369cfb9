import { createHash, randomBytes } from "node:crypto";

/** Access tokens carry this prefix so the authenticator tells them from JWTs without a lookup. */
export const ACCESS_TOKEN_PREFIX = "berth_at_";
/** A refresh token offered as a bearer token is recognisably the wrong kind, never looked up. */
export const REFRESH_TOKEN_PREFIX = "berth_rt_";

/**
 * A fresh credential: 32 random bytes, base64url. With 256 bits of entropy nobody can guess one,
 * so an unsalted sha256 is a safe way to keep it and allows lookup by hash.
 */
export function newSecret(prefix = ""): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** How a credential is stored: never the credential itself. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** What the token listing shows so a user can tell their tokens apart. */
export function lastFour(secret: string): string {
  return secret.slice(-4);
}
