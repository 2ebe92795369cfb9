import type { Principal } from "./principal.ts";

/** One kind of bearer token (JWT, OAuth2 access token…). */
export interface BearerVerifier {
  /**
   * undefined when the token is not of this verifier's kind (the next one is tried);
   * throws UnauthorizedError when it is, but is invalid, expired, revoked or its user is gone.
   */
  verify(token: string): Promise<Principal | undefined>;
}
