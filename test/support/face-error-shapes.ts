import assert from "node:assert/strict";
import type { TestResponse } from "./http-client.ts";

/** Asserts that an error response has the given status and its face's shape; returns the message it carries. */
export type ErrorShapeCheck = (response: TestResponse, status: number) => string;

const jsonObject = (response: TestResponse): Record<string, unknown> => {
  assert.match(
    response.contentType,
    /^application\/json/,
    `expected JSON, got ${response.contentType}: ${response.text}`,
  );
  const body = response.json();
  assert.ok(body !== null && typeof body === "object" && !Array.isArray(body), `not an object: ${response.text}`);
  return body as Record<string, unknown>;
};

const native: ErrorShapeCheck = (response, status) => {
  assert.equal(response.status, status, response.text);
  const body = jsonObject(response);
  // The OAuth2 endpoints answer RFC 6749's shape: a code in `error`, the message in `error_description`.
  if ("error_description" in body) {
    assert.deepEqual(Object.keys(body), ["error", "error_description"]);
    assert.match(String(body.error), /^[a-z_]+$/, `error is not an OAuth2 code: ${response.text}`);
    assert.equal(typeof body.error_description, "string");
    return body.error_description as string;
  }
  assert.deepEqual(Object.keys(body), ["error"]);
  if (typeof body.error === "string") return body.error;
  assert.ok(body.error && typeof body.error === "object", `error is neither text nor a field map: ${response.text}`);
  return JSON.stringify(body.error);
};

/** One checker per face, as the specs (and DESIGN.md) define their error bodies. */
export const errorShapes: Readonly<Record<string, ErrorShapeCheck>> = {
  native,
  // The agents' link (not an API face) answers its HTTP errors in the native shape.
  "agent-link": native,
  consul(response, status) {
    assert.equal(response.status, status, response.text);
    assert.equal(response.contentType, "text/plain; charset=utf-8");
    assert.ok(response.text.length > 0 && !response.text.startsWith("{"), `not plain text: ${response.text}`);
    return response.text;
  },
  network(response, status) {
    assert.equal(response.status, status, response.text);
    assert.equal(response.contentType, "text/plain; charset=utf-8");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.ok(
      response.text.endsWith("\n") && !response.text.startsWith("{"),
      `not Go http.Error text: ${response.text}`,
    );
    return response.text.trimEnd();
  },
  director(response, status) {
    assert.equal(response.status, status, response.text);
    const body = jsonObject(response);
    assert.deepEqual(Object.keys(body).sort(), ["code", "description"]);
    assert.ok(Number.isInteger(body.code), `code is not an integer: ${response.text}`);
    assert.equal(typeof body.description, "string");
    return body.description as string;
  },
  "docker-gateway"(response, status) {
    assert.equal(response.status, status, response.text);
    const body = jsonObject(response);
    assert.deepEqual(Object.keys(body).sort(), ["details", "message"]);
    assert.equal(typeof body.message, "string");
    assert.equal(typeof body.details, "string");
    return body.message as string;
  },
};

/** The checker for a face by name; fails the test for an unknown face. */
export function errorShapeOf(face: string): ErrorShapeCheck {
  const check = errorShapes[face];
  assert.ok(check, `no error shape known for face "${face}"`);
  return check;
}
