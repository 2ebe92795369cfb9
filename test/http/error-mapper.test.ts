import assert from "node:assert/strict";
import { test } from "node:test";
import { BadRequestError } from "../../src/core/errors/bad-request-error.ts";
import { ConflictError } from "../../src/core/errors/conflict-error.ts";
import { ForbiddenError } from "../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../src/core/errors/not-found-error.ts";
import { OAuth2Error } from "../../src/core/errors/oauth2-error.ts";
import { TooManyRequestsError } from "../../src/core/errors/too-many-requests-error.ts";
import { UnauthorizedError } from "../../src/core/errors/unauthorized-error.ts";
import { ValidationError } from "../../src/core/errors/validation-error.ts";
import { toHttpProblem } from "../../src/http/error-mapper.ts";
import { CompactedError } from "../../src/store/errors/compacted-error.ts";
import { InvalidKeyError } from "../../src/store/errors/invalid-key-error.ts";
import { InvalidValueError } from "../../src/store/errors/invalid-value-error.ts";
import { LeaseNotFoundError } from "../../src/store/errors/lease-not-found-error.ts";
import { StoreClosedError } from "../../src/store/errors/store-closed-error.ts";

test("domain errors map to their statuses and keep their messages", () => {
  assert.deepEqual(toHttpProblem(new NotFoundError("grid x not found")), { status: 404, message: "grid x not found" });
  assert.equal(toHttpProblem(new ConflictError("taken")).status, 409);
  assert.equal(toHttpProblem(new BadRequestError("bad")).status, 400);
  assert.equal(toHttpProblem(new UnauthorizedError()).status, 401);
  assert.equal(toHttpProblem(new ForbiddenError()).status, 403);
  assert.deepEqual(toHttpProblem(new ValidationError({ name: "is missing" })), {
    status: 422,
    message: "validation failed",
    fields: { name: "is missing" },
  });
});

test("OAuth2 refusals keep their RFC 6749 code; most are 400s", () => {
  assert.deepEqual(toHttpProblem(new OAuth2Error("invalid_grant", "the code was already used")), {
    status: 400,
    message: "the code was already used",
    code: "invalid_grant",
  });
  assert.equal(toHttpProblem(new OAuth2Error("access_denied", "no such user")).status, 403);
  assert.deepEqual(toHttpProblem(new OAuth2Error("temporarily_unavailable", "set oauth2.client_id")), {
    status: 503,
    message: "set oauth2.client_id",
    code: "temporarily_unavailable",
  });
});

test("too many failed attempts is a 429 saying when to retry", () => {
  assert.deepEqual(toHttpProblem(new TooManyRequestsError(42)), {
    status: 429,
    message: "too many failed attempts; try again later",
    headers: { "retry-after": "42" },
  });
});

test("store errors map too; a closed store is a 503 without internals", () => {
  assert.equal(toHttpProblem(new InvalidKeyError("a\0b", "contains a NUL character")).status, 400);
  assert.equal(toHttpProblem(new InvalidValueError("$.x", "not JSON")).status, 400);
  assert.equal(toHttpProblem(new CompactedError(3, 10)).status, 400);
  assert.equal(toHttpProblem(new LeaseNotFoundError(7)).status, 404);
  assert.deepEqual(toHttpProblem(new StoreClosedError()), { status: 503, message: "the master is shutting down" });
});

test("Fastify's parsing errors keep their 4xx status with a client-facing message", () => {
  const tooLarge = Object.assign(new Error("Request body is too large"), {
    code: "FST_ERR_CTP_BODY_TOO_LARGE",
    statusCode: 413,
  });
  assert.deepEqual(toHttpProblem(tooLarge), { status: 413, message: "request body is too large" });
  const syntax = Object.assign(new SyntaxError("Unexpected end of JSON input"), { statusCode: 400 });
  assert.equal(toHttpProblem(syntax).status, 400);
});

test("anything else is a generic 500 that reveals nothing", () => {
  for (const thrown of [
    new Error("password=hunter2"),
    new TypeError("x is undefined"),
    "a string",
    null,
    { statusCode: 200 },
  ]) {
    assert.deepEqual(toHttpProblem(thrown), { status: 500, message: "internal server error" });
  }
  const weird = Object.assign(new Error("upstream said 302"), { statusCode: 302 });
  assert.equal(toHttpProblem(weird).status, 500);
});
