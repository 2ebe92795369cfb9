import { hkdfSync } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import type { User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";
import type { BearerVerifier } from "./bearer-verifier.ts";
import type { Principal } from "./principal.ts";

const ISSUER = "berth";
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Short-lived session tokens (the Docker gateway's `/api/auth` answer), HS256 with a key
 * derived from the master key, so every master sharing that key accepts them and no extra
 * secret needs managing. Each verification re-reads the user: a deleted user's JWT stops working.
 */
export class JwtIssuer implements BearerVerifier {
  readonly #key: Uint8Array;
  readonly #users: UserService;
  readonly #ttlSeconds: number;

  constructor(masterKey: Buffer, users: UserService, ttlSeconds = 8 * 3600) {
    this.#key = new Uint8Array(hkdfSync("sha256", masterKey, Buffer.alloc(0), "berth jwt signing key v1", 32));
    this.#users = users;
    this.#ttlSeconds = ttlSeconds;
  }

  async issue(user: User): Promise<string> {
    return new SignJWT({ username: user.username, role: user.roles.includes("master_admin") ? 1 : 2 })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.#ttlSeconds}s`)
      .sign(this.#key);
  }

  async verify(token: string): Promise<Principal | undefined> {
    if (!JWT_SHAPE.test(token)) return undefined;
    let subject: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ["HS256"] });
      subject = payload.sub;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new UnauthorizedError("token expired");
      throw new UnauthorizedError("invalid token");
    }
    const user = subject ? await this.#users.findById(subject) : undefined;
    if (!user) throw new UnauthorizedError("the token's user no longer exists");
    return { user, method: "jwt", scopes: ["user"] };
  }
}
