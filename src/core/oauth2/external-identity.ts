/** Who the external provider says logged in. */
export interface ExternalIdentity {
  /** The provider's stable id for the user (OIDC `sub`, or `id` for plain OAuth2 providers like GitHub). */
  readonly subject: string;
  readonly email: string | null;
  /** false when the provider says the e-mail address is unverified; null when it does not say. */
  readonly emailVerified: boolean | null;
}

type Claims = Readonly<Record<string, unknown>>;

/**
 * Reads the identity from the ID token's claims (when the provider speaks OIDC) and the userinfo
 * answer, accepting the field names of OIDC and of common plain OAuth2 providers, as Kontena did.
 * Throws when no subject can be found or the two sources are about different users.
 */
export function identityFrom(idToken: Claims | undefined, userinfo: Claims): ExternalIdentity {
  const fromToken = text(idToken?.sub);
  const fromUserinfo = text(userinfo.sub);
  if (fromToken !== undefined && fromUserinfo !== undefined && fromToken !== fromUserinfo) {
    throw new Error("the userinfo answer is about another user than the ID token");
  }
  const subject = fromToken ?? fromUserinfo ?? text(userinfo.id) ?? text(userinfo.uid) ?? text(userinfo.user_id);
  if (subject === undefined) throw new Error("the provider's userinfo names no user id (sub or id)");
  const verified = userinfo.email_verified ?? idToken?.email_verified;
  return {
    subject,
    email: text(userinfo.email) ?? text(idToken?.email) ?? null,
    emailVerified: typeof verified === "boolean" ? verified : null,
  };
}

function text(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return typeof value === "string" && value !== "" ? value : undefined;
}
