import { OAuth2Error } from "../errors/oauth2-error.ts";

/** Scopes a Berth token can carry. Kontena's "user" is the user's full access through the API. */
export const KNOWN_SCOPES: readonly string[] = ["user"];
export const DEFAULT_SCOPES: readonly string[] = ["user"];

/**
 * The scopes a `scope` parameter asks for: RFC 6749 separates them with spaces, the Kontena CLI
 * with commas, so both are accepted. None asked means the default. A token never gets a scope
 * the credentials it was made from do not carry (`allowed`).
 */
export function requestedScopes(scope: string | undefined, allowed: readonly string[]): string[] {
  const requested = [...new Set((scope ?? "").split(/[\s,]+/).filter((name) => name !== ""))];
  if (requested.length === 0) return DEFAULT_SCOPES.filter((name) => allowed.includes(name));
  const unknown = requested.filter((name) => !KNOWN_SCOPES.includes(name));
  if (unknown.length > 0) {
    throw new OAuth2Error("invalid_scope", `unknown scope ${unknown.join(", ")}; known: ${KNOWN_SCOPES.join(", ")}`);
  }
  const beyond = requested.filter((name) => !allowed.includes(name));
  if (beyond.length > 0) {
    throw new OAuth2Error("invalid_scope", `scope ${beyond.join(", ")} is beyond what these credentials carry`);
  }
  return requested;
}
