import * as oidc from "openid-client";
import { OAuth2Error } from "../errors/oauth2-error.ts";
import { type ExternalIdentity, identityFrom } from "./external-identity.ts";
import { callbackUrl, type ExternalProviderSettings, usesInsecureHttp } from "./external-provider-settings.ts";

/** A login must not hang on a provider that does not answer. */
const TIMEOUT_SECONDS = 10;

/** Berth's side of the login at an external OAuth2/OIDC provider: authorization URL, code exchange, userinfo. */
export class ExternalProviderClient {
  /** The last configuration built, so discovery runs once per settings, not once per login. */
  #cached: { readonly key: string; readonly config: Promise<oidc.Configuration> } | undefined;

  /** Where to send the user's browser: the provider's authorization URL for this login. */
  async authorizationUrl(settings: ExternalProviderSettings, state: string, codeChallenge: string): Promise<URL> {
    const config = await this.#configuration(settings);
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: callbackUrl(settings.rootUrl).href,
      scope: settings.scope,
      state,
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
    });
  }

  /**
   * Completes the login from the provider's redirect to /cb: checks the state, exchanges the
   * code (with the PKCE verifier) and reads the userinfo. Throws OAuth2Error server_error when
   * the provider refuses or cannot be reached.
   */
  async identify(
    settings: ExternalProviderSettings,
    callbackParams: URLSearchParams,
    checks: { readonly state: string; readonly verifier: string },
  ): Promise<ExternalIdentity> {
    const config = await this.#configuration(settings);
    const userinfo = settings.endpoints.userinfo ?? config.serverMetadata().userinfo_endpoint;
    if (!userinfo) {
      throw new OAuth2Error(
        "temporarily_unavailable",
        "the provider has no userinfo endpoint: set oauth2.userinfo_endpoint",
      );
    }
    const current = callbackUrl(settings.rootUrl);
    current.search = callbackParams.toString();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        expectedState: checks.state,
        pkceCodeVerifier: checks.verifier,
      });
      const response = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(userinfo), "GET");
      if (!response.ok) throw new Error(`its userinfo endpoint answered ${response.status}`);
      return identityFrom(tokens.claims(), (await response.json()) as Record<string, unknown>);
    } catch (error) {
      throw new OAuth2Error("server_error", `the login at the provider could not be completed: ${describe(error)}`);
    }
  }

  #configuration(settings: ExternalProviderSettings): Promise<oidc.Configuration> {
    const key = JSON.stringify(settings);
    if (this.#cached?.key === key) return this.#cached.config;
    const config = this.#build(settings);
    this.#cached = { key, config };
    // A failed discovery is retried by the next login, not remembered.
    config.catch(() => {
      if (this.#cached?.config === config) this.#cached = undefined;
    });
    return config;
  }

  async #build(settings: ExternalProviderSettings): Promise<oidc.Configuration> {
    const { endpoints } = settings;
    const insecure = usesInsecureHttp(settings);
    let metadata: oidc.ServerMetadata;
    if (endpoints.kind === "configured") {
      metadata = {
        issuer: endpoints.issuer,
        authorization_endpoint: endpoints.authorize.href,
        token_endpoint: endpoints.token.href,
        userinfo_endpoint: endpoints.userinfo.href,
      };
    } else {
      let discovered: oidc.Configuration;
      try {
        discovered = await oidc.discovery(new URL(endpoints.issuer), settings.clientId, undefined, undefined, {
          execute: insecure ? [oidc.allowInsecureRequests] : [],
          timeout: TIMEOUT_SECONDS,
        });
      } catch (error) {
        throw new OAuth2Error(
          "temporarily_unavailable",
          `the provider's discovery document at ${endpoints.issuer} could not be read: ${describe(error)}`,
        );
      }
      const base: oidc.ServerMetadata = discovered.serverMetadata();
      metadata = {
        ...base,
        ...(endpoints.authorize && { authorization_endpoint: endpoints.authorize.href }),
        ...(endpoints.token && { token_endpoint: endpoints.token.href }),
      };
    }
    // oauth2.code_requires_basic_auth decides, as in Kontena. Otherwise: what a discovered provider
    // lists, basic when it lists nothing (RFC 8414's default), and for configured endpoints the
    // secret in the body, which GitHub-style providers (Kontena's usual setup) expect.
    const methods = metadata.token_endpoint_auth_methods_supported;
    const basic =
      settings.basicAuth ?? (methods ? methods.includes("client_secret_basic") : endpoints.kind === "discovered");
    const config = new oidc.Configuration(
      metadata,
      settings.clientId,
      undefined,
      basic ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.ClientSecretPost(settings.clientSecret),
    );
    if (insecure) oidc.allowInsecureRequests(config);
    config.timeout = TIMEOUT_SECONDS;
    return config;
  }
}

/** What went wrong at the provider, in words safe for the client and the log (no secrets). */
function describe(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError) return withDescription(error.error, error.error_description);
  // A refused client secret comes back as a challenge (RFC 6749 §5.2), not as a body.
  const challenge = error instanceof oidc.WWWAuthenticateChallengeError ? error.cause[0]?.parameters : undefined;
  if (challenge?.error) return withDescription(challenge.error, challenge.error_description);
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

function withDescription(code: string, description: string | undefined): string {
  return description ? `${code}: ${description}` : code;
}
