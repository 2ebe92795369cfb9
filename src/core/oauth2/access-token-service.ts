import { randomUUID } from "node:crypto";
import type { Compare, JsonValue, KeyValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { BearerVerifier } from "../auth/bearer-verifier.ts";
import type { Principal } from "../auth/principal.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { OAuth2Error } from "../errors/oauth2-error.ts";
import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import { dropLease } from "../records/drop-lease.ts";
import type { User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";
import {
  type AccessToken,
  type IssuedToken,
  type StoredAccessToken,
  storedAccessTokenSchema,
  type TokenGrant,
  toAccessToken,
} from "./access-token-record.ts";
import { requestedScopes } from "./oauth2-scopes.ts";
import { ACCESS_TOKEN_PREFIX, hashSecret, lastFour, newSecret, REFRESH_TOKEN_PREFIX } from "./oauth2-secrets.ts";

/** Token records, per user: /oauth2/tokens/<user id>/<token id>. */
const TOKENS_PREFIX = "/oauth2/tokens/";
/** sha256 of an access token → its record, so a bearer token is found with one read. */
const ACCESS_HASHES_PREFIX = "/oauth2/access-token-hashes/";
const REFRESH_HASHES_PREFIX = "/oauth2/refresh-token-hashes/";

/** Kontena's default access token lifetime. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 7200;
/** Longest lifetime a client may ask for; 0 (never expires) is allowed besides. */
export const MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;
/** A refresh token outlives its access token so a client can come back after a break, but not forever. */
export const REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;
/** Records stay this long past their last possible use before their lease removes them. */
const LINGER_SECONDS = 60;
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A record a new token replaces: it must be unchanged, and the same transaction deletes it. */
export interface ConsumedRecord {
  readonly kv: KeyValue;
  /** Why the grant fails when someone else consumed it first. */
  readonly refusal: string;
}

interface TokenIndex {
  readonly user_id: string;
  readonly token_id: string;
}

export interface AccessTokenServiceOptions {
  readonly now?: () => number;
}

/**
 * Berth's OAuth2 access tokens: opaque, prefixed random strings kept only as sha256 hashes, each
 * with an optional refresh token that rotates on use. Records carry a lease, so tokens nobody can
 * use any more disappear from the store by themselves.
 */
export class AccessTokenService implements BearerVerifier {
  readonly #store: StateStore;
  readonly #users: UserService;
  readonly #now: () => number;

  constructor(store: StateStore, users: UserService, options: AccessTokenServiceOptions = {}) {
    this.#store = store;
    this.#users = users;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A new token for the user. With `consumed`, the token replaces that record atomically (an
   * authorization code): if another request consumed it first, nothing is written and
   * OAuth2Error invalid_grant says so.
   */
  async issue(user: User, grant: TokenGrant, consumed?: ConsumedRecord): Promise<IssuedToken> {
    const made = this.#newToken(user.id, grant);
    const guard = consumed ? [unchanged(consumed.kv)] : [];
    const replaced: TxnOp[] = consumed ? [{ type: "delete", key: consumed.kv.key }] : [];
    await this.#commit(made.stored, guard, replaced, consumed?.refusal ?? "");
    if (consumed) await dropLease(this.#store, consumed.kv.lease);
    return { token: toAccessToken(made.stored), user, accessToken: made.accessToken, refreshToken: made.refreshToken };
  }

  /**
   * Trades a refresh token for a new token with the same lifetime and the same or fewer scopes;
   * the old access and refresh tokens stop working in the same transaction.
   */
  async refresh(refreshToken: string, scope?: string): Promise<IssuedToken> {
    const found = refreshToken.startsWith(REFRESH_TOKEN_PREFIX)
      ? await this.#findByHash(REFRESH_HASHES_PREFIX, refreshToken)
      : undefined;
    if (!found) throw new OAuth2Error("invalid_grant", "the refresh token is unknown, revoked or already used");
    const { kv, stored } = found;
    if (this.#isPast(stored.refresh_expires_at)) throw new OAuth2Error("invalid_grant", "the refresh token expired");
    const user = await this.#users.findById(stored.user_id);
    if (!user) throw new OAuth2Error("invalid_grant", "the refresh token's user no longer exists");
    const scopes = requestedScopes(scope ?? stored.scopes.join(" "), stored.scopes);
    const made = this.#newToken(user.id, { scopes, lifetime: stored.lifetime, description: stored.description });
    await this.#commit(made.stored, [unchanged(kv)], deleteOps(stored), "the refresh token was already used");
    await dropLease(this.#store, kv.lease);
    return { token: toAccessToken(made.stored), user, accessToken: made.accessToken, refreshToken: made.refreshToken };
  }

  /** BearerVerifier: tokens with Berth's prefix are this verifier's; any other kind is left to the next. */
  async verify(token: string): Promise<Principal | undefined> {
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      throw new UnauthorizedError("a refresh token is no access token: trade it at POST /oauth2/token");
    }
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const found = await this.#findByHash(ACCESS_HASHES_PREFIX, token);
    if (!found) throw new UnauthorizedError("invalid or revoked access token");
    if (this.#isPast(found.stored.expires_at)) throw new UnauthorizedError("access token expired");
    const user = await this.#users.findById(found.stored.user_id);
    if (!user) throw new UnauthorizedError("the token's user no longer exists");
    return { user, method: "access_token", tokenId: found.stored.id, scopes: found.stored.scopes };
  }

  /** The user's tokens, oldest first. */
  async list(userId: string): Promise<AccessToken[]> {
    const { kvs } = await this.#store.range(`${TOKENS_PREFIX}${userId}/`, { prefix: true });
    return kvs
      .map((kv) => toAccessToken(storedAccessTokenSchema.parse(kv.value)))
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** One of the user's tokens; another user's token is as unknown as a made-up id (NotFoundError). */
  async get(userId: string, tokenId: string): Promise<AccessToken> {
    return toAccessToken((await this.#owned(userId, tokenId)).stored);
  }

  /** Revokes one of the user's tokens: both its access and refresh token stop working at once. */
  async revoke(userId: string, tokenId: string): Promise<void> {
    const { kv, stored } = await this.#owned(userId, tokenId);
    // Records never change in place, so a failed compare means a refresh or revoke removed it meanwhile.
    const result = await this.#store.txn({ compare: [unchanged(kv)], success: deleteOps(stored) });
    if (!result.succeeded) throw notFound(tokenId);
    await dropLease(this.#store, kv.lease);
  }

  #newToken(userId: string, grant: TokenGrant) {
    if (!Number.isInteger(grant.lifetime) || grant.lifetime < 0 || grant.lifetime > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new OAuth2Error("invalid_request", `expires_in must be 0 (never) to ${MAX_TOKEN_LIFETIME_SECONDS} seconds`);
    }
    const now = this.#now();
    const expires = grant.lifetime > 0;
    const accessToken = newSecret(ACCESS_TOKEN_PREFIX);
    const refreshToken = expires ? newSecret(REFRESH_TOKEN_PREFIX) : null;
    const stored: StoredAccessToken = {
      id: randomUUID(),
      user_id: userId,
      access_token_hash: hashSecret(accessToken),
      access_token_last_four: lastFour(accessToken),
      refresh_token_hash: refreshToken === null ? null : hashSecret(refreshToken),
      refresh_token_last_four: refreshToken === null ? null : lastFour(refreshToken),
      scopes: [...grant.scopes],
      lifetime: grant.lifetime,
      expires_at: expires ? new Date(now + grant.lifetime * 1000).toISOString() : null,
      refresh_expires_at: expires
        ? new Date(now + Math.max(grant.lifetime, REFRESH_TOKEN_LIFETIME_SECONDS) * 1000).toISOString()
        : null,
      description: grant.description ?? null,
      created_at: new Date(now).toISOString(),
    };
    return { stored, accessToken, refreshToken };
  }

  /** Writes the token and its hash index in one transaction, guarded by `compare`. */
  async #commit(stored: StoredAccessToken, compare: Compare[], alsoDo: TxnOp[], refusal: string): Promise<void> {
    const lease = await this.#leaseFor(stored);
    const result = await this.#store.txn({ compare, success: [...alsoDo, ...putOps(stored, lease)] });
    if (!result.succeeded) {
      await dropLease(this.#store, lease);
      throw new OAuth2Error("invalid_grant", refusal);
    }
  }

  /** A lease outliving the refresh token a little, so the store forgets dead tokens; 0 for immortal ones. */
  async #leaseFor(stored: StoredAccessToken): Promise<number> {
    if (stored.refresh_expires_at === null) return 0;
    const seconds = Math.ceil((Date.parse(stored.refresh_expires_at) - this.#now()) / 1000) + LINGER_SECONDS;
    return (await this.#store.grantLease(seconds)).id;
  }

  async #findByHash(prefix: string, secret: string): Promise<{ kv: KeyValue; stored: StoredAccessToken } | undefined> {
    const index = await this.#store.get(prefix + hashSecret(secret));
    if (!index) return undefined;
    const { user_id, token_id } = index.value as unknown as TokenIndex;
    const kv = await this.#store.get(recordKey(user_id, token_id));
    return kv ? { kv, stored: storedAccessTokenSchema.parse(kv.value) } : undefined;
  }

  async #owned(userId: string, tokenId: string): Promise<{ kv: KeyValue; stored: StoredAccessToken }> {
    const kv = TOKEN_ID.test(tokenId) ? await this.#store.get(recordKey(userId, tokenId)) : undefined;
    if (!kv) throw notFound(tokenId);
    return { kv, stored: storedAccessTokenSchema.parse(kv.value) };
  }

  #isPast(iso: string | null): boolean {
    return iso !== null && Date.parse(iso) <= this.#now();
  }
}

function recordKey(userId: string, tokenId: string): string {
  return `${TOKENS_PREFIX}${userId}/${tokenId}`;
}

function notFound(tokenId: string): NotFoundError {
  return new NotFoundError(`access token ${tokenId} not found`);
}

function unchanged(kv: KeyValue): Compare {
  return { key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision };
}

function putOps(stored: StoredAccessToken, lease: number): TxnOp[] {
  const index: TokenIndex = { user_id: stored.user_id, token_id: stored.id };
  const ops: TxnOp[] = [
    { type: "put", key: recordKey(stored.user_id, stored.id), value: stored as unknown as JsonValue, lease },
    { type: "put", key: ACCESS_HASHES_PREFIX + stored.access_token_hash, value: { ...index }, lease },
  ];
  if (stored.refresh_token_hash !== null) {
    ops.push({ type: "put", key: REFRESH_HASHES_PREFIX + stored.refresh_token_hash, value: { ...index }, lease });
  }
  return ops;
}

function deleteOps(stored: StoredAccessToken): TxnOp[] {
  const ops: TxnOp[] = [
    { type: "delete", key: recordKey(stored.user_id, stored.id) },
    { type: "delete", key: ACCESS_HASHES_PREFIX + stored.access_token_hash },
  ];
  if (stored.refresh_token_hash !== null) {
    ops.push({ type: "delete", key: REFRESH_HASHES_PREFIX + stored.refresh_token_hash });
  }
  return ops;
}
