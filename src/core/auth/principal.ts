import type { User } from "../users/user-record.ts";

/** How a caller proved who they are. */
export type AuthMethod = "jwt" | "access_token" | "password";

/** The authenticated caller of one request, as every face hands it to core. */
export interface Principal {
  readonly user: User;
  readonly method: AuthMethod;
  /** The OAuth2 access token's id, when the caller used one. */
  readonly tokenId?: string;
  readonly scopes: readonly string[];
}
