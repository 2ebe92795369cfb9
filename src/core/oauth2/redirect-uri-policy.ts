import { OAuth2Error } from "../errors/oauth2-error.ts";

/** Native clients (the Kontena CLI) listen on a loopback port of their own choosing (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Checks a client's redirect_uri before a login is started: Berth has no registered clients, so
 * it only sends codes to the user's own machine (loopback, any port) or back to this master.
 * Anything else would let a crafted link deliver a user's code to a stranger. Throws
 * OAuth2Error invalid_request naming the rule.
 */
export function checkRedirectUri(redirectUri: string, rootUrl: URL): URL {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw new OAuth2Error("invalid_request", "redirect_uri must be an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OAuth2Error("invalid_request", "redirect_uri must be an http or https URL");
  }
  if (redirectUri.includes("#")) throw new OAuth2Error("invalid_request", "redirect_uri must not have a fragment");
  if (url.username !== "" || url.password !== "") {
    throw new OAuth2Error("invalid_request", "redirect_uri must not carry credentials");
  }
  if (!LOOPBACK_HOSTS.has(url.hostname) && url.origin !== rootUrl.origin) {
    throw new OAuth2Error(
      "invalid_request",
      `redirect_uri must point at localhost, 127.0.0.1 or [::1] (any port) or at this master (${rootUrl.origin})`,
    );
  }
  return url;
}

/** The client's redirect with the outcome added to its query, keeping what the client put there. */
export function redirectWith(redirectUri: string, params: Readonly<Record<string, string | null>>): URL {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return url;
}
