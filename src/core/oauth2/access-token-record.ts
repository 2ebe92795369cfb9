import { z } from "zod";
import type { User } from "../users/user-record.ts";

/** How an access token is stored under /oauth2/tokens/<user id>/<token id>. Hashes only. */
export const storedAccessTokenSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  access_token_hash: z.string(),
  access_token_last_four: z.string(),
  /** null for a token that never expires: there is nothing to refresh. */
  refresh_token_hash: z.string().nullable(),
  refresh_token_last_four: z.string().nullable(),
  scopes: z.array(z.string()),
  /** Seconds the access token was granted for, 0 for never; a refresh grants the same again. */
  lifetime: z.number().int().nonnegative(),
  expires_at: z.string().nullable(),
  refresh_expires_at: z.string().nullable(),
  description: z.string().nullable(),
  created_at: z.string(),
});
export type StoredAccessToken = z.infer<typeof storedAccessTokenSchema>;

/** What leaves core: the record without hashes. */
export interface AccessToken {
  readonly id: string;
  readonly user_id: string;
  readonly access_token_last_four: string;
  readonly refresh_token_last_four: string | null;
  readonly scopes: readonly string[];
  readonly lifetime: number;
  /** ISO-8601; null when the token never expires. */
  readonly expires_at: string | null;
  readonly description: string | null;
  readonly created_at: string;
}

export function toAccessToken(stored: StoredAccessToken): AccessToken {
  return {
    id: stored.id,
    user_id: stored.user_id,
    access_token_last_four: stored.access_token_last_four,
    refresh_token_last_four: stored.refresh_token_last_four,
    scopes: stored.scopes,
    lifetime: stored.lifetime,
    expires_at: stored.expires_at,
    description: stored.description,
    created_at: stored.created_at,
  };
}

/** A token just made: the only moment its secrets exist in the clear. */
export interface IssuedToken {
  readonly token: AccessToken;
  readonly user: User;
  readonly accessToken: string;
  readonly refreshToken: string | null;
}

/** What a new token grants. */
export interface TokenGrant {
  readonly scopes: readonly string[];
  /** Seconds the access token lives; 0 = it never expires (and gets no refresh token). */
  readonly lifetime: number;
  readonly description?: string | null;
}
