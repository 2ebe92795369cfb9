import { z } from "zod";
import type { JsonValue, StateStore } from "../../store/state-store.ts";
import { OAuth2Error } from "../errors/oauth2-error.ts";
import type { User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";
import type { IssuedToken, TokenGrant } from "./access-token-record.ts";
import type { AccessTokenService } from "./access-token-service.ts";
import { hashSecret, newSecret } from "./oauth2-secrets.ts";
import { verifierMatches } from "./pkce.ts";

/** sha256 of a code → what it grants; each under a lease of the code's lifetime. */
const CODES_PREFIX = "/oauth2/codes/";
/** RFC 6749 §4.1.2 recommends at most ten minutes. */
export const CODE_LIFETIME_SECONDS = 600;

const storedCodeSchema = z.object({
  user_id: z.string(),
  scopes: z.array(z.string()),
  /** Lifetime of the token the code will be exchanged for. */
  lifetime: z.number().int().nonnegative(),
  description: z.string().nullable(),
  /** The client redirect the code was sent to; a token request naming another one is refused. */
  redirect_uri: z.string().nullable(),
  /** PKCE S256 challenge the client sent with the authorization request. */
  code_challenge: z.string().nullable(),
  expires_at: z.string(),
});
type StoredCode = z.infer<typeof storedCodeSchema>;

export interface CodeGrant extends TokenGrant {
  readonly redirectUri?: string | null;
  readonly codeChallenge?: string | null;
}

/** What the token request says about the code it redeems. */
export interface CodeRedemption {
  readonly redirectUri?: string;
  readonly codeVerifier?: string;
}

export interface AuthorizationCodeServiceOptions {
  readonly now?: () => number;
}

/** Short-lived, single-use OAuth2 authorization codes, kept as hashes, exchanged for access tokens. */
export class AuthorizationCodeService {
  readonly #store: StateStore;
  readonly #users: UserService;
  readonly #tokens: AccessTokenService;
  readonly #now: () => number;

  constructor(
    store: StateStore,
    users: UserService,
    tokens: AccessTokenService,
    options: AuthorizationCodeServiceOptions = {},
  ) {
    this.#store = store;
    this.#users = users;
    this.#tokens = tokens;
    this.#now = options.now ?? Date.now;
  }

  /** A new code for the user; shown once, to whoever asked for it. */
  async create(user: User, grant: CodeGrant): Promise<string> {
    const code = newSecret();
    const stored: StoredCode = {
      user_id: user.id,
      scopes: [...grant.scopes],
      lifetime: grant.lifetime,
      description: grant.description ?? null,
      redirect_uri: grant.redirectUri ?? null,
      code_challenge: grant.codeChallenge ?? null,
      expires_at: new Date(this.#now() + CODE_LIFETIME_SECONDS * 1000).toISOString(),
    };
    const lease = await this.#store.grantLease(CODE_LIFETIME_SECONDS);
    await this.#store.put(CODES_PREFIX + hashSecret(code), stored as unknown as JsonValue, { lease: lease.id });
    return code;
  }

  /**
   * Exchanges a code for a token, once: of concurrent exchanges exactly one wins. A wrong
   * redirect_uri or PKCE verifier is refused without using the code up.
   */
  async redeem(code: string, redemption: CodeRedemption): Promise<IssuedToken> {
    const kv = await this.#store.get(CODES_PREFIX + hashSecret(code));
    const stored = kv ? storedCodeSchema.parse(kv.value) : undefined;
    if (!kv || !stored || Date.parse(stored.expires_at) <= this.#now()) {
      throw new OAuth2Error("invalid_grant", "the code is unknown, expired or already used");
    }
    // RFC 6749 wants redirect_uri repeated here; the Kontena CLI never sends it, so only a different one is refused.
    if (stored.redirect_uri !== null && redemption.redirectUri !== undefined) {
      if (redemption.redirectUri !== stored.redirect_uri) {
        throw new OAuth2Error("invalid_grant", "redirect_uri differs from the one the code was issued to");
      }
    }
    if (stored.code_challenge !== null) {
      if (redemption.codeVerifier === undefined) {
        throw new OAuth2Error(
          "invalid_grant",
          "code_verifier is required: the code was requested with a code_challenge",
        );
      }
      if (!verifierMatches(redemption.codeVerifier, stored.code_challenge)) {
        throw new OAuth2Error("invalid_grant", "code_verifier does not match the code_challenge");
      }
    }
    const user = await this.#users.findById(stored.user_id);
    if (!user) throw new OAuth2Error("invalid_grant", "the code's user no longer exists");
    return this.#tokens.issue(
      user,
      { scopes: stored.scopes, lifetime: stored.lifetime, description: stored.description },
      { kv, refusal: "the code was already used" },
    );
  }
}
