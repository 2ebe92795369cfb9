import type { ConfigValues } from "../config/config-schema.ts";
import { OAuth2Error } from "../errors/oauth2-error.ts";

/** The master configuration keys (Kontena's names) that set up login through an external provider. */
export const PROVIDER_KEYS = {
  clientId: "oauth2.client_id",
  clientSecret: "oauth2.client_secret",
  issuer: "oauth2.issuer",
  authorizeEndpoint: "oauth2.authorize_endpoint",
  tokenEndpoint: "oauth2.token_endpoint",
  userinfoEndpoint: "oauth2.userinfo_endpoint",
  userinfoScope: "oauth2.userinfo_scope",
  basicAuth: "oauth2.code_requires_basic_auth",
  rootUrl: "server.root_url",
} as const;

const ENDPOINT_KEYS = [PROVIDER_KEYS.authorizeEndpoint, PROVIDER_KEYS.tokenEndpoint, PROVIDER_KEYS.userinfoEndpoint];
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The provider's endpoints, either all configured or discovered from the issuer (OIDC discovery). */
export type ProviderEndpoints =
  | {
      readonly kind: "configured";
      readonly authorize: URL;
      readonly token: URL;
      readonly userinfo: URL;
      /** Expected `iss` of ID tokens and authorization responses; the authorize endpoint's origin when not set. */
      readonly issuer: string;
    }
  | {
      readonly kind: "discovered";
      readonly issuer: string;
      /** Configured endpoints win over discovered ones. */
      readonly authorize: URL | null;
      readonly token: URL | null;
      readonly userinfo: URL | null;
    };

export interface ExternalProviderSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly endpoints: ProviderEndpoints;
  readonly scope: string;
  /** Send the client credentials with HTTP basic auth instead of in the token request body. */
  readonly basicAuth: boolean | null;
  /** The master's public URL: the provider redirects to its /cb. */
  readonly rootUrl: URL;
}

/**
 * The provider settings from the master configuration. Throws OAuth2Error
 * temporarily_unavailable (503) naming every key still to set, or the key whose value is wrong.
 * The client secret is never part of a message.
 */
export function providerSettingsFrom(config: ConfigValues): ExternalProviderSettings {
  const value = (key: string): string | undefined => {
    const text = config[key]?.trim();
    return text === "" ? undefined : text;
  };
  const issuer = value(PROVIDER_KEYS.issuer);
  const missing: string[] = [PROVIDER_KEYS.clientId, PROVIDER_KEYS.clientSecret, PROVIDER_KEYS.rootUrl].filter(
    (key) => value(key) === undefined,
  );
  const missingEndpoints = ENDPOINT_KEYS.filter((key) => value(key) === undefined);
  if (issuer === undefined && missingEndpoints.length > 0) {
    missing.push(`${missingEndpoints.join(", ")} (or ${PROVIDER_KEYS.issuer} to discover them)`);
  }
  if (missing.length > 0) {
    throw new OAuth2Error(
      "temporarily_unavailable",
      `login through an external provider is not configured: set ${missing.join(", ")} (PATCH /v1/config)`,
    );
  }
  const providerUrl = (key: string): URL | null => {
    const text = value(key);
    return text === undefined ? null : parseUrl(key, text, true);
  };
  const [authorize, token, userinfo] = ENDPOINT_KEYS.map(providerUrl) as [URL | null, URL | null, URL | null];
  // Kept as written: an issuer is compared as a string, and URL would add a slash to a bare origin.
  const configuredIssuer = providerUrl(PROVIDER_KEYS.issuer) && value(PROVIDER_KEYS.issuer);
  const endpoints: ProviderEndpoints =
    authorize && token && userinfo
      ? { kind: "configured", authorize, token, userinfo, issuer: configuredIssuer ?? authorize.origin }
      : { kind: "discovered", issuer: configuredIssuer as string, authorize, token, userinfo };
  const basicAuth = value(PROVIDER_KEYS.basicAuth);
  return {
    clientId: value(PROVIDER_KEYS.clientId) as string,
    clientSecret: value(PROVIDER_KEYS.clientSecret) as string,
    endpoints,
    scope:
      value(PROVIDER_KEYS.userinfoScope) ?? (endpoints.kind === "discovered" ? "openid email profile" : "user:email"),
    basicAuth: basicAuth === undefined ? null : basicAuth === "true",
    rootUrl: parseUrl(PROVIDER_KEYS.rootUrl, value(PROVIDER_KEYS.rootUrl) as string, false),
  };
}

/** The master's callback URL the provider redirects to: `/cb` under the root URL. */
export function callbackUrl(rootUrl: URL): URL {
  return new URL(`${rootUrl.pathname.replace(/\/*$/, "")}/cb`, rootUrl.origin);
}

/** Provider URLs must be https: the client secret and user tokens travel over them. Loopback may use http. */
function parseUrl(key: string, text: string, secureOnly: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OAuth2Error("temporarily_unavailable", `${key} is not a URL: ${JSON.stringify(text)}`);
  }
  const insecureAllowed = !secureOnly || LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && insecureAllowed)) {
    throw new OAuth2Error(
      "temporarily_unavailable",
      `${key} must be an https URL${secureOnly ? " (http only on localhost)" : " or an http one"}: ${JSON.stringify(text)}`,
    );
  }
  return url;
}

/** Whether openid-client must be allowed plain http (only ever for loopback providers). */
export function usesInsecureHttp(settings: ExternalProviderSettings): boolean {
  const { endpoints } = settings;
  return [new URL(endpoints.issuer), endpoints.authorize, endpoints.token, endpoints.userinfo].some(
    (url) => url?.protocol === "http:",
  );
}
