import assert from "node:assert/strict";
import { test } from "node:test";
import { OAuth2Error } from "../../../src/core/errors/oauth2-error.ts";
import { callbackUrl, providerSettingsFrom } from "../../../src/core/oauth2/external-provider-settings.ts";

const explicit = {
  "oauth2.client_id": "berth",
  "oauth2.client_secret": "s3cret-value",
  "oauth2.authorize_endpoint": "https://idp.example.com/authorize",
  "oauth2.token_endpoint": "https://idp.example.com/token",
  "oauth2.userinfo_endpoint": "https://idp.example.com/userinfo",
  "server.root_url": "https://berth.example.com",
};

const unavailable = (pattern: RegExp) => (error: unknown) =>
  error instanceof OAuth2Error &&
  error.code === "temporarily_unavailable" &&
  pattern.test(error.message) &&
  !error.message.includes("s3cret-value");

test("nothing configured names every key to set", () => {
  assert.throws(
    () => providerSettingsFrom({}),
    unavailable(
      /set oauth2\.client_id, oauth2\.client_secret, server\.root_url, oauth2\.authorize_endpoint, oauth2\.token_endpoint, oauth2\.userinfo_endpoint \(or oauth2\.issuer to discover them\)/,
    ),
  );
  const { "oauth2.token_endpoint": _, ...withoutToken } = explicit;
  assert.throws(
    () => providerSettingsFrom(withoutToken),
    unavailable(/set oauth2\.token_endpoint \(or oauth2\.issuer/),
  );
});

test("three endpoints configure the provider; the issuer alone means discovery", () => {
  const configured = providerSettingsFrom(explicit);
  assert.equal(configured.endpoints.kind, "configured");
  assert.equal(configured.endpoints.issuer, "https://idp.example.com");
  assert.equal(configured.scope, "user:email");
  const discovered = providerSettingsFrom({
    "oauth2.client_id": "berth",
    "oauth2.client_secret": "s3cret-value",
    "oauth2.issuer": "https://idp.example.com/realms/x",
    "server.root_url": "https://berth.example.com",
  });
  assert.equal(discovered.endpoints.kind, "discovered");
  assert.equal(discovered.scope, "openid email profile");
});

test("provider URLs must be https except on loopback", () => {
  assert.throws(
    () => providerSettingsFrom({ ...explicit, "oauth2.token_endpoint": "http://idp.example.com/token" }),
    unavailable(/oauth2\.token_endpoint must be an https URL/),
  );
  assert.throws(
    () => providerSettingsFrom({ ...explicit, "oauth2.token_endpoint": "not a url" }),
    unavailable(/oauth2\.token_endpoint is not a URL/),
  );
  const local = providerSettingsFrom({ ...explicit, "oauth2.token_endpoint": "http://127.0.0.1:9000/token" });
  assert.equal(local.endpoints.token?.href, "http://127.0.0.1:9000/token");
});

test("the callback is /cb under the root URL", () => {
  assert.equal(callbackUrl(new URL("https://berth.example.com")).href, "https://berth.example.com/cb");
  assert.equal(callbackUrl(new URL("https://example.com/berth/")).href, "https://example.com/berth/cb");
});
