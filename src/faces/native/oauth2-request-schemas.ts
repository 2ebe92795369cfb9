import { z } from "zod";
import { OAuth2Error } from "../../core/errors/oauth2-error.ts";
import { MAX_TOKEN_LIFETIME_SECONDS } from "../../core/oauth2/access-token-service.ts";

const param = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .max(4096, { error: "is too long" });

const LIFETIME_ERROR = `must be a whole number of seconds from 0 (never expires) to ${MAX_TOKEN_LIFETIME_SECONDS}`;
/** Seconds, as a JSON number or (from a form) digits; 0 means the token never expires. */
const lifetime = z
  .union(
    [
      z.number(),
      z
        .string()
        .regex(/^\d{1,12}$/)
        .transform(Number),
    ],
    { error: LIFETIME_ERROR },
  )
  .pipe(
    z
      .number()
      .int({ error: LIFETIME_ERROR })
      .min(0, { error: LIFETIME_ERROR })
      .max(MAX_TOKEN_LIFETIME_SECONDS, { error: LIFETIME_ERROR }),
  );

/** RFC 7636: the S256 challenge is a base64url sha256, 43 characters. */
const codeChallenge = param.regex(/^[A-Za-z0-9_-]{43}$/, {
  error: "must be an S256 challenge: 43 base64url characters",
});
const codeVerifier = param.regex(/^[A-Za-z0-9._~-]{43,128}$/, {
  error: "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
});
/** Only S256: `plain` would hand the verifier to whoever sees the authorization request. */
const challengeMethod = z.literal("S256", { error: "must be S256" });

export const passwordGrantSchema = z.object({
  username: param,
  password: param,
  scope: param.optional(),
  expires_in: lifetime.optional(),
});

export const codeGrantSchema = z.object({
  code: param,
  redirect_uri: param.optional(),
  code_verifier: codeVerifier.optional(),
});

export const refreshGrantSchema = z.object({ refresh_token: param, scope: param.optional() });

/** Kontena spells the token response type `access_token`; RFC 6749 `token`. */
export const AUTHORIZE_RESPONSE_TYPES = ["token", "access_token", "code"] as const;

export const authorizeSchema = z.object({
  scope: param.optional(),
  expires_in: lifetime.optional(),
  description: param.max(256, { error: "must be at most 256 characters" }).optional(),
  /** A master_admin may make a token for another user (e-mail address or username). */
  user: param.optional(),
  redirect_uri: param.optional(),
  code_challenge: codeChallenge.optional(),
  code_challenge_method: challengeMethod.optional(),
});

export const authenticateSchema = z
  .object({
    redirect_uri: param,
    invite_code: param.optional(),
    expires_in: lifetime.optional(),
    state: param.optional(),
    response_type: z.literal("code", { error: "must be code" }).optional(),
    code_challenge: codeChallenge.optional(),
    code_challenge_method: challengeMethod.optional(),
  })
  .refine((input) => (input.code_challenge === undefined) === (input.code_challenge_method === undefined), {
    error: "code_challenge and code_challenge_method=S256 go together",
    path: ["code_challenge_method"],
  });

export const callbackSchema = z.object({ state: param });

/**
 * The parameters of an OAuth2 request, from a form, a JSON object or a query string. Parameters
 * sent without a value count as absent (RFC 6749 §3.1).
 */
export function oauth2Params(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new OAuth2Error("invalid_request", "the parameters must be a form or a JSON object");
  }
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== ""));
}

/** Parses OAuth2 parameters; failures are OAuth2Error invalid_request naming each bad parameter. */
export function parseOAuth2Params<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(oauth2Params(input));
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.map(String).join(".") || "parameters"} ${issue.message}`,
  );
  throw new OAuth2Error("invalid_request", problems.join("; "));
}
