import assert from "node:assert/strict";
import { test } from "node:test";
import { OAuth2Error } from "../../../src/core/errors/oauth2-error.ts";
import { checkRedirectUri, redirectWith } from "../../../src/core/oauth2/redirect-uri-policy.ts";

const root = new URL("https://berth.example.com");

test("loopback on any port and the master's own origin are accepted", () => {
  for (const uri of [
    "http://localhost:5177/cb",
    "http://127.0.0.1:40000/",
    "http://[::1]:8080/callback?x=1",
    "https://localhost/cb",
    "https://berth.example.com/code",
  ]) {
    assert.equal(checkRedirectUri(uri, root).href, new URL(uri).href);
  }
});

test("anything else is invalid_request naming the rule", () => {
  for (const uri of [
    "http://evil.example.com/cb",
    "https://berth.example.com.evil.com/",
    "http://berth.example.com/cb",
    "http://localhost.evil.com/",
    "http://127.0.0.2/",
    "/code",
    "javascript:alert(1)",
    "http://localhost:5177/cb#fragment",
    "http://user:pw@localhost/",
  ]) {
    assert.throws(
      () => checkRedirectUri(uri, root),
      (error: unknown) => error instanceof OAuth2Error && error.code === "invalid_request",
      uri,
    );
  }
  assert.throws(() => checkRedirectUri("http://evil.example.com/", root), /localhost, 127\.0\.0\.1 or \[::1\]/);
});

test("the outcome is added to the client's own query", () => {
  const url = redirectWith("http://localhost:5177/cb?session=1", { code: "abc", state: null });
  assert.equal(url.href, "http://localhost:5177/cb?session=1&code=abc");
});
