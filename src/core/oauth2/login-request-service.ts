import { createHash } from "node:crypto";
import { z } from "zod";
import type { JsonValue, StateStore } from "../../store/state-store.ts";
import { SecretBox } from "../crypto/secret-box.ts";
import { dropLease } from "../records/drop-lease.ts";
import { hashSecret, newSecret } from "./oauth2-secrets.ts";

/** sha256 of the `state` sent to the login provider → the pending login; under a lease. */
const LOGIN_REQUESTS_PREFIX = "/oauth2/login-requests/";
/** How long a user has to log in at the provider. */
export const LOGIN_REQUEST_LIFETIME_SECONDS = 600;

const storedLoginRequestSchema = z.object({
  redirect_uri: z.string(),
  client_state: z.string().nullable(),
  lifetime: z.number().int().nonnegative(),
  code_challenge: z.string().nullable(),
  /** The invite code and the provider PKCE verifier, sealed under a key only the state unlocks. */
  sealed: z.string(),
  expires_at: z.string(),
});

const sealedSchema = z.object({ invite_code: z.string().nullable(), provider_verifier: z.string() });

/** A login through the external provider, between /oauth2/authenticate and /cb. */
export interface LoginRequest {
  /** Where the client waits for the outcome. */
  readonly redirectUri: string;
  /** The client's own `state`, handed back with the outcome. */
  readonly clientState: string | null;
  /** Lifetime of the token the client will get. */
  readonly lifetime: number;
  /** The client's PKCE challenge, bound to the code it will get. */
  readonly codeChallenge: string | null;
  readonly inviteCode: string | null;
}

export interface StartedLogin {
  /** Sent to the provider, which hands it back to /cb. */
  readonly state: string;
  /** PKCE verifier for Berth's own exchange with the provider. */
  readonly providerVerifier: string;
}

export interface PendingLogin extends LoginRequest {
  readonly providerVerifier: string;
}

/**
 * Pending external logins, keyed by the hash of their `state` and usable once. The invite code
 * is a credential, so it is sealed with a key derived from the state itself: the store alone
 * cannot reveal it.
 */
export class LoginRequestService {
  readonly #store: StateStore;
  readonly #now: () => number;

  constructor(store: StateStore, options: { readonly now?: () => number } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  async create(request: LoginRequest): Promise<StartedLogin> {
    const state = newSecret();
    const providerVerifier = newSecret();
    const key = LOGIN_REQUESTS_PREFIX + hashSecret(state);
    const secrets = { invite_code: request.inviteCode, provider_verifier: providerVerifier };
    const stored = {
      redirect_uri: request.redirectUri,
      client_state: request.clientState,
      lifetime: request.lifetime,
      code_challenge: request.codeChallenge,
      sealed: boxFor(state).seal(JSON.stringify(secrets), key),
      expires_at: new Date(this.#now() + LOGIN_REQUEST_LIFETIME_SECONDS * 1000).toISOString(),
    } satisfies z.infer<typeof storedLoginRequestSchema>;
    const lease = await this.#store.grantLease(LOGIN_REQUEST_LIFETIME_SECONDS);
    await this.#store.put(key, stored as unknown as JsonValue, { lease: lease.id });
    return { state, providerVerifier };
  }

  /** The pending login for a state, removed so it cannot complete twice; undefined when unknown, used or expired. */
  async take(state: string): Promise<PendingLogin | undefined> {
    const key = LOGIN_REQUESTS_PREFIX + hashSecret(state);
    const kv = await this.#store.get(key);
    if (!kv) return undefined;
    const taken = await this.#store.txn({
      compare: [{ key, target: "mod_revision", op: "==", value: kv.mod_revision }],
      success: [{ type: "delete", key }],
    });
    if (!taken.succeeded) return undefined;
    await dropLease(this.#store, kv.lease);
    const stored = storedLoginRequestSchema.parse(kv.value);
    if (Date.parse(stored.expires_at) <= this.#now()) return undefined;
    const secrets = sealedSchema.parse(JSON.parse(boxFor(state).open(stored.sealed, key)));
    return {
      redirectUri: stored.redirect_uri,
      clientState: stored.client_state,
      lifetime: stored.lifetime,
      codeChallenge: stored.code_challenge,
      inviteCode: secrets.invite_code,
      providerVerifier: secrets.provider_verifier,
    };
  }
}

/** Domain-separated from the hash that names the record, so the record's key does not unlock it. */
function boxFor(state: string): SecretBox {
  return new SecretBox(createHash("sha256").update("berth login request v1\0").update(state).digest());
}
