import { NotFoundError } from "../errors/not-found-error.ts";
import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import type { User } from "../users/user-record.ts";
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
    const user = await this.#throttled(keys, () => this.#users.checkPassword(username, password));
    if (!user) throw new UnauthorizedError("invalid username or password");
    return { user, method: "password", scopes: ["user"] };
  }

  /**
   * Redeems an invite code by setting the invited user's password. Throttled per address like a
   * login, since the code is a credential; throws NotFoundError for an unknown or used code.
   */
  async acceptInvite(code: string, password: string, source: LoginSource): Promise<User> {
    const user = await this.#throttled([`invite:${source.address}`], () =>
      this.#users.redeemInvite(code, { password }).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }),
    );
    if (!user) throw new NotFoundError("invite code is unknown or already used");
    return user;
  }

  /** Runs one attempt; undefined counts as a failure against every key. */
  async #throttled<T>(keys: readonly string[], attempt: () => Promise<T | undefined>): Promise<T | undefined> {
    this.#throttle.check(keys);
    const result = await attempt();
    if (result === undefined) this.#throttle.failed(keys);
    else this.#throttle.succeeded(keys);
    return result;
  }
}
