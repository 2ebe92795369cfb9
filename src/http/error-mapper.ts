import { BadRequestError } from "../core/errors/bad-request-error.ts";
import { ConflictError } from "../core/errors/conflict-error.ts";
import { ForbiddenError } from "../core/errors/forbidden-error.ts";
import { NotFoundError } from "../core/errors/not-found-error.ts";
import { OAuth2Error, type OAuth2ErrorCode } from "../core/errors/oauth2-error.ts";
import { OperationFailedError } from "../core/errors/operation-failed-error.ts";
import { PayloadTooLargeError } from "../core/errors/payload-too-large-error.ts";
import { TooManyRequestsError } from "../core/errors/too-many-requests-error.ts";
import { UnauthorizedError } from "../core/errors/unauthorized-error.ts";
import { ValidationError } from "../core/errors/validation-error.ts";
import { CompactedError } from "../store/errors/compacted-error.ts";
import { FutureRevisionError } from "../store/errors/future-revision-error.ts";
import { InvalidArgumentError } from "../store/errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../store/errors/invalid-key-error.ts";
import { InvalidValueError } from "../store/errors/invalid-value-error.ts";
import { LeaseNotFoundError } from "../store/errors/lease-not-found-error.ts";
import { StoreClosedError } from "../store/errors/store-closed-error.ts";
import type { HttpProblem } from "./face.ts";

/** The one place where error kinds become HTTP statuses; faces only choose the body's shape. */
const statusByErrorClass: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, number]> = [
  [ValidationError, 422],
  [BadRequestError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [OperationFailedError, 500],
  [InvalidKeyError, 400],
  [InvalidValueError, 400],
  [InvalidArgumentError, 400],
  [CompactedError, 400],
  [FutureRevisionError, 400],
  [LeaseNotFoundError, 404],
  [StoreClosedError, 503],
];

/** Fastify's request-parsing errors, reworded for clients. */
const fastifyMessages: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported content type",
  FST_ERR_CTP_BODY_TOO_LARGE: "request body is too large",
  FST_ERR_CTP_INVALID_JSON_BODY: "request body is not valid JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "request body is empty but the content type is JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "request body does not match its Content-Length",
  FST_ERR_BAD_URL: "the request path is not a valid URL",
};

/** RFC 6749's error codes are 400s, but for these. */
const statusByOAuth2Code: Partial<Record<OAuth2ErrorCode, number>> = {
  access_denied: 403,
  server_error: 502,
  temporarily_unavailable: 503,
};

export const INTERNAL_ERROR_MESSAGE = "internal server error";

/** Maps anything thrown while serving a request to a problem; unknown errors become a generic 500. */
export function toHttpProblem(error: unknown): HttpProblem {
  if (!(error instanceof Error)) return { status: 500, message: INTERNAL_ERROR_MESSAGE };
  if (error instanceof ValidationError) return { status: 422, message: error.message, fields: error.fields };
  if (error instanceof OAuth2Error) {
    return { status: statusByOAuth2Code[error.code] ?? 400, message: error.message, code: error.code };
  }
  if (error instanceof TooManyRequestsError) {
    return { status: 429, message: error.message, headers: { "retry-after": String(error.retryAfterSeconds) } };
  }
  const known = statusByErrorClass.find(([errorClass]) => error instanceof errorClass);
  if (known) {
    const status = known[1];
    return { status, message: status === 503 ? "the master is shutting down" : error.message };
  }
  return fastifyProblem(error) ?? { status: 500, message: INTERNAL_ERROR_MESSAGE };
}

/** Client errors Fastify raises while reading a request (they carry a 4xx statusCode). */
function fastifyProblem(error: Error & { code?: unknown; statusCode?: unknown }): HttpProblem | undefined {
  const status = error.statusCode;
  if (typeof status !== "number" || status < 400 || status > 499) return undefined;
  const message = (typeof error.code === "string" ? fastifyMessages[error.code] : undefined) ?? fallbackMessage(error);
  return { status, message };
}

function fallbackMessage(error: Error): string {
  // The JSON parser throws a SyntaxError with statusCode 400 and a message naming the bad token.
  return error instanceof SyntaxError ? `request body is not valid JSON: ${error.message}` : error.message;
}
