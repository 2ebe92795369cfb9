import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import type { UserService } from "../users/user-service.ts";
import type { BearerVerifier } from "./bearer-verifier.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import type { Principal } from "./principal.ts";

/** Where a login attempt comes from, for throttling per address and per user. */
export interface LoginSource {
  readonly address: string;
}

/** Turns the credentials a face extracted into a Principal, the same way for every face. */
export class Authenticator {
  readonly #users: UserService;
  readonly #verifiers: readonly BearerVerifier[];
  readonly #throttle: LoginThrottle;

  constructor(users: UserService, verifiers: readonly BearerVerifier[], throttle: LoginThrottle) {
    this.#users = users;
    this.#verifiers = verifiers;
    this.#throttle = throttle;
  }

  /** A bearer token (JWT or OAuth2 access token). Throws UnauthorizedError. */
  async bearer(token: string): Promise<Principal> {
    for (const verifier of this.#verifiers) {
      const principal = await verifier.verify(token);
      if (principal) return principal;
    }
    throw new UnauthorizedError("invalid token");
  }

  /**
   * Username and password (basic auth, password grant, /api/auth). Throttled per address and
   * per username; throws TooManyRequestsError when locked, UnauthorizedError when wrong.
   */
  async password(username: string, password: string, source: LoginSource): Promise<Principal> {
    const keys = [`address:${source.address}`, `user:${username.toLowerCase()}`];
    this.#throttle.check(keys);
    const user = await this.#users.checkPassword(username, password);
    if (!user) {
      this.#throttle.failed(keys);
      throw new UnauthorizedError("invalid username or password");
    }
    this.#throttle.succeeded(keys);
    return { user, method: "password", scopes: ["user"] };
  }
}
