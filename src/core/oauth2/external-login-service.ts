import type { ConfigService } from "../config/config-service.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { OAuth2Error } from "../errors/oauth2-error.ts";
import type { User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";
import type { AuthorizationCodeService } from "./authorization-code-service.ts";
import type { ExternalIdentity } from "./external-identity.ts";
import type { ExternalProviderClient } from "./external-provider-client.ts";
import { providerSettingsFrom } from "./external-provider-settings.ts";
import type { LoginRequest, LoginRequestService, PendingLogin } from "./login-request-service.ts";
import { DEFAULT_SCOPES } from "./oauth2-scopes.ts";
import { s256Challenge } from "./pkce.ts";
import { checkRedirectUri, redirectWith } from "./redirect-uri-policy.ts";

/** Where the browser goes after /cb, and why the login failed when it did. */
export interface LoginOutcome {
  /** The client's redirect_uri with `code` (or `error`) and the client's `state`. */
  readonly location: URL;
  readonly refused?: OAuth2Error;
}

export interface ExternalLoginDependencies {
  readonly config: ConfigService;
  readonly users: UserService;
  readonly codes: AuthorizationCodeService;
  readonly requests: LoginRequestService;
  readonly provider: ExternalProviderClient;
}

/**
 * Login through the configured external OAuth2/OIDC provider (Kontena's auth provider flow):
 * /oauth2/authenticate sends the browser to the provider, /cb receives it back, finds the
 * Berth user and hands the client an authorization code. Users are never created here: a login
 * must redeem an invite, or match a user by linked provider id or by verified e-mail address.
 */
export class ExternalLoginService {
  readonly #deps: ExternalLoginDependencies;

  constructor(deps: ExternalLoginDependencies) {
    this.#deps = deps;
  }

  /** Starts a login; the answer is the provider URL to redirect the browser to. */
  async start(request: LoginRequest): Promise<URL> {
    const settings = providerSettingsFrom(await this.#deps.config.get());
    checkRedirectUri(request.redirectUri, settings.rootUrl);
    if (request.inviteCode !== null && !(await this.#deps.users.findByInviteCode(request.inviteCode))) {
      throw new OAuth2Error("access_denied", "the invite code is unknown or already used");
    }
    const { state, providerVerifier } = await this.#deps.requests.create(request);
    return this.#deps.provider.authorizationUrl(settings, state, s256Challenge(providerVerifier));
  }

  /**
   * Completes a login from the provider's redirect. A refusal once the login is known goes back
   * to the client as RFC 6749 error parameters on its redirect; an unknown state cannot be sent
   * anywhere and throws OAuth2Error invalid_request.
   */
  async finish(state: string, callbackParams: URLSearchParams): Promise<LoginOutcome> {
    const login = await this.#deps.requests.take(state);
    if (!login) {
      throw new OAuth2Error("invalid_request", "the login is unknown, expired or already completed; start it again");
    }
    try {
      const code = await this.#complete(login, state, callbackParams);
      return { location: redirectWith(login.redirectUri, { code, state: login.clientState }) };
    } catch (error) {
      if (!(error instanceof OAuth2Error)) throw error;
      const params = { error: error.code, error_description: error.message, state: login.clientState };
      return { location: redirectWith(login.redirectUri, params), refused: error };
    }
  }

  async #complete(login: PendingLogin, state: string, callbackParams: URLSearchParams): Promise<string> {
    const providerError = callbackParams.get("error");
    if (providerError !== null) {
      const description = callbackParams.get("error_description");
      throw new OAuth2Error(
        "access_denied",
        `the provider refused the login: ${providerError}${description ? `: ${description}` : ""}`,
      );
    }
    const settings = providerSettingsFrom(await this.#deps.config.get());
    const identity = await this.#deps.provider.identify(settings, callbackParams, {
      state,
      verifier: login.providerVerifier,
    });
    const user = await this.#userFor(identity, login.inviteCode);
    return this.#deps.codes.create(user, {
      scopes: DEFAULT_SCOPES,
      lifetime: login.lifetime,
      redirectUri: login.redirectUri,
      codeChallenge: login.codeChallenge,
    });
  }

  async #userFor(identity: ExternalIdentity, inviteCode: string | null): Promise<User> {
    const { users } = this.#deps;
    const linked = await users.findByExternalId(identity.subject);
    if (inviteCode !== null) {
      const invited = await users.findByInviteCode(inviteCode);
      if (!invited) throw new OAuth2Error("access_denied", "the invite code is unknown or already used");
      if (linked && linked.id !== invited.id) {
        throw new OAuth2Error(
          "access_denied",
          `this provider account already belongs to Berth user ${linked.username}`,
        );
      }
      // A provider that vouches for nothing does not get to set the user's e-mail address.
      const email = identity.emailVerified === false ? undefined : (identity.email ?? undefined);
      return users.redeemInvite(inviteCode, { externalId: identity.subject, email }).catch((error: unknown) => {
        if (error instanceof NotFoundError) throw new OAuth2Error("access_denied", "the invite code was just used");
        throw error;
      });
    }
    if (linked) return linked;
    // An unverified address proves nothing: matching on it would let anyone claim any account.
    const byEmail =
      identity.email !== null && identity.emailVerified !== false ? await users.findByEmail(identity.email) : undefined;
    if (byEmail) return users.linkExternalId(byEmail.username, identity.subject);
    throw new OAuth2Error(
      "access_denied",
      `no Berth user matches ${identity.email ?? `provider user ${identity.subject}`}; ask an administrator for an invite`,
    );
  }
}
