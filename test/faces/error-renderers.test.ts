import assert from "node:assert/strict";
import { test } from "node:test";
import { renderConsulError } from "../../src/faces/consul/consul-error-renderer.ts";
import { renderDirectorError } from "../../src/faces/director/director-error-renderer.ts";
import { renderDockerGatewayError } from "../../src/faces/docker-gateway/docker-gateway-error-renderer.ts";
import { renderNativeError } from "../../src/faces/native/native-error-renderer.ts";
import { renderNetworkError } from "../../src/faces/network/network-error-renderer.ts";
import type { HttpProblem } from "../../src/http/face.ts";

const notFound: HttpProblem = { status: 404, message: "grid mygrid not found" };
const invalid: HttpProblem = { status: 422, message: "validation failed", fields: { name: "is missing", port: "bad" } };
const tooLarge: HttpProblem = { status: 413, message: "request body is too large" };

test("native: {error: message}, or {error: {field: message}} for invalid input", () => {
  assert.deepEqual(JSON.parse(renderNativeError(notFound).body), { error: "grid mygrid not found" });
  assert.deepEqual(JSON.parse(renderNativeError(invalid).body), { error: { name: "is missing", port: "bad" } });
  assert.match(renderNativeError(notFound).contentType, /^application\/json/);
});

test("native: a problem with a code is RFC 6749 shaped, as OAuth2 clients read it", () => {
  const refused: HttpProblem = { status: 400, message: "the code was already used", code: "invalid_grant" };
  assert.deepEqual(JSON.parse(renderNativeError(refused).body), {
    error: "invalid_grant",
    error_description: "the code was already used",
  });
});

test("consul: the bare message as plain text, fields inline", () => {
  assert.deepEqual(renderConsulError(notFound), {
    contentType: "text/plain; charset=utf-8",
    body: "grid mygrid not found",
  });
  assert.equal(renderConsulError(invalid).body, "validation failed: name: is missing; port: bad");
});

test("network: Go http.Error text with a trailing newline and nosniff", () => {
  const rendered = renderNetworkError(notFound);
  assert.equal(rendered.body, "grid mygrid not found\n");
  assert.equal(rendered.contentType, "text/plain; charset=utf-8");
  assert.deepEqual(rendered.headers, { "x-content-type-options": "nosniff" });
});

test("director: {code, description} with BOSH's codes", () => {
  assert.deepEqual(JSON.parse(renderDirectorError(notFound).body), {
    code: 100002,
    description: "grid mygrid not found",
  });
  assert.equal(JSON.parse(renderDirectorError(invalid).body).code, 40000);
  assert.equal(JSON.parse(renderDirectorError(tooLarge).body).code, 40003);
  assert.equal(JSON.parse(renderDirectorError({ status: 500, message: "internal server error" }).body).code, 100);
});

test("docker gateway: {message, details}, details listing the fields", () => {
  assert.deepEqual(JSON.parse(renderDockerGatewayError(notFound).body), {
    message: "grid mygrid not found",
    details: "grid mygrid not found",
  });
  assert.deepEqual(JSON.parse(renderDockerGatewayError(invalid).body), {
    message: "validation failed",
    details: "name: is missing; port: bad",
  });
});
