import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as oidc from "openid-client";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { assertOAuth2Error, bearer, passwordGrant, postForm, type TokenAnswer } from "../../support/oauth2-requests.ts";
import { startTestHost } from "../../support/test-host.ts";

const PASSWORD = "correct horse battery";
const nativeError = errorShapeOf("native");

async function setUp(t: TestContext) {
  const host = await startTestHost(t);
  await host.core.users.create({ username: "ann", password: PASSWORD, email: "ann@example.com" });
  return host;
}

async function whoAmI(url: string, token: string) {
  return send(url, "/v1/user", { headers: bearer(token) });
}

describe("POST /oauth2/token", () => {
  it("password grant, form-encoded: an RFC 6749 answer with Kontena's user, uncached, and a working token", async (t) => {
    const { url } = await setUp(t);
    const response = await postForm(url, "/oauth2/token", {
      grant_type: "password",
      username: "ann",
      password: PASSWORD,
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = response.json() as TokenAnswer;
    assert.match(body.access_token, /^berth_at_/);
    assert.match(body.refresh_token ?? "", /^berth_rt_/);
    assert.equal(body.token_type, "bearer");
    assert.equal(body.expires_in, 7200);
    assert.equal(body.scope, "user");
    assert.deepEqual({ ...body.user, id: undefined }, { id: undefined, email: "ann@example.com", name: "ann" });
    const me = await whoAmI(url, body.access_token);
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json() as { username: string }).username, "ann");
  });

  it("password grant as JSON, with a lifetime and scope", async (t) => {
    const { url } = await setUp(t);
    const response = await sendJson(url, "/oauth2/token", "POST", {
      grant_type: "password",
      username: "ann",
      password: PASSWORD,
      expires_in: 60,
      scope: "user",
    });
    assert.equal(response.status, 200, response.text);
    assert.equal((response.json() as TokenAnswer).expires_in, 60);
  });

  it("wrong credentials are 400 invalid_grant; missing ones invalid_request naming them", async (t) => {
    const { url } = await setUp(t);
    const wrong = await postForm(url, "/oauth2/token", { grant_type: "password", username: "ann", password: "nope" });
    assert.match(assertOAuth2Error(wrong, 400, "invalid_grant"), /invalid username or password/);
    const nobody = await postForm(url, "/oauth2/token", { grant_type: "password", username: "zed", password: "x" });
    assertOAuth2Error(nobody, 400, "invalid_grant");
    const missing = await postForm(url, "/oauth2/token", { grant_type: "password", username: "ann", password: "" });
    assert.equal(assertOAuth2Error(missing, 400, "invalid_request"), "password is required");
    const badScope = await postForm(url, "/oauth2/token", {
      grant_type: "password",
      username: "ann",
      password: PASSWORD,
      scope: "admin",
    });
    assert.match(assertOAuth2Error(badScope, 400, "invalid_scope"), /unknown scope admin/);
  });

  it("password guessing is throttled with a 429 and Retry-After", async (t) => {
    const { url } = await setUp(t);
    let last = await postForm(url, "/oauth2/token", { grant_type: "password", username: "ann", password: "guess" });
    for (let attempt = 1; attempt < 12 && last.status !== 429; attempt++) {
      last = await postForm(url, "/oauth2/token", { grant_type: "password", username: "ann", password: "guess" });
    }
    assert.equal(last.status, 429, last.text);
    assert.ok(Number(last.headers.get("retry-after")) > 0);
  });

  it("grant types: missing is invalid_request, unknown is unsupported_grant_type", async (t) => {
    const { url } = await setUp(t);
    assert.equal(
      assertOAuth2Error(await postForm(url, "/oauth2/token", {}), 400, "invalid_request"),
      "grant_type is required",
    );
    const unknown = await postForm(url, "/oauth2/token", { grant_type: "client_credentials" });
    assert.match(
      assertOAuth2Error(unknown, 400, "unsupported_grant_type"),
      /password, authorization_code, refresh_token/,
    );
    const inherited = await sendJson(url, "/oauth2/token", "POST", { grant_type: "toString" });
    assertOAuth2Error(inherited, 400, "unsupported_grant_type");
  });

  it("malformed bodies are 4xx naming the problem, never a 500", async (t) => {
    const { url } = await setUp(t);
    const twice = await send(url, "/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=password&username=ann&username=bob&password=x",
    });
    assert.match(assertOAuth2Error(twice, 400, "invalid_request"), /username is given more than once/);
    assertOAuth2Error(await sendJson(url, "/oauth2/token", "POST", ["grant_type"]), 400, "invalid_request");
    const notString = await sendJson(url, "/oauth2/token", "POST", {
      grant_type: "password",
      username: 1,
      password: "x",
    });
    assert.equal(assertOAuth2Error(notString, 400, "invalid_request"), "username must be a string");
    const polluted = await send(url, "/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "__proto__=x&constructor=y&grant_type=nope",
    });
    assertOAuth2Error(polluted, 400, "unsupported_grant_type");
    const json = { "content-type": "application/json" };
    nativeError(await send(url, "/oauth2/token", { method: "POST", headers: json, body: "{" }), 400);
    const text = { "content-type": "text/plain" };
    nativeError(await send(url, "/oauth2/token", { method: "POST", headers: text, body: "grant_type=password" }), 415);
  });

  it("refresh_token rotates: the new pair works, the old refresh and access tokens do not", async (t) => {
    const { url } = await setUp(t);
    const first = await passwordGrant(url, "ann", PASSWORD);
    const refreshed = await postForm(url, "/oauth2/token", {
      grant_type: "refresh_token",
      refresh_token: first.refresh_token ?? "",
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    const second = refreshed.json() as TokenAnswer;
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(second.expires_in, 7200);
    assert.equal((await whoAmI(url, second.access_token)).status, 200);
    nativeError(await whoAmI(url, first.access_token), 401);
    const reused = await postForm(url, "/oauth2/token", {
      grant_type: "refresh_token",
      refresh_token: first.refresh_token ?? "",
    });
    assertOAuth2Error(reused, 400, "invalid_grant");
    const missing = await postForm(url, "/oauth2/token", { grant_type: "refresh_token" });
    assert.equal(assertOAuth2Error(missing, 400, "invalid_request"), "refresh_token is required");
  });

  it("a standard OAuth2 client (openid-client) gets tokens, refreshes and reads the error codes", async (t) => {
    const { url } = await setUp(t);
    const config = new oidc.Configuration(
      { issuer: url, token_endpoint: `${url}/oauth2/token` },
      "berth-cli",
      undefined,
      oidc.None(),
    );
    oidc.allowInsecureRequests(config);
    const granted = await oidc.genericGrantRequest(config, "password", { username: "ann", password: PASSWORD });
    assert.equal(granted.token_type, "bearer");
    assert.equal(granted.expires_in, 7200);
    const refreshed = await oidc.refreshTokenGrant(config, granted.refresh_token ?? "");
    assert.equal((await whoAmI(url, refreshed.access_token)).status, 200);
    await assert.rejects(
      oidc.refreshTokenGrant(config, granted.refresh_token ?? ""),
      (error: unknown) => error instanceof oidc.ResponseBodyError && error.error === "invalid_grant",
    );
  });
});

describe("POST /oauth2/authorize", () => {
  it("response_type=token makes a token; expires_in=0 one that never expires and has nothing to refresh", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    const response = await postForm(
      url,
      "/oauth2/authorize",
      { response_type: "token", expires_in: "0", description: "ci" },
      bearer(access_token),
    );
    assert.equal(response.status, 201, response.text);
    const body = response.json() as TokenAnswer;
    assert.equal(body.expires_in, undefined);
    assert.equal(body.refresh_token, undefined);
    assert.equal((await whoAmI(url, body.access_token)).status, 200);
  });

  it("accepts Kontena's response_type=access_token spelling and its JSON body", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    const response = await sendJson(
      url,
      "/oauth2/authorize",
      "POST",
      { response_type: "access_token", expires_in: "7200", scope: "user" },
      bearer(access_token),
    );
    assert.equal(response.status, 201, response.text);
    assert.equal((response.json() as TokenAnswer).expires_in, 7200);
  });

  it("an expired token is a 401; its refresh token still gets a new one", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    const short = (
      await postForm(url, "/oauth2/authorize", { response_type: "token", expires_in: "1" }, bearer(access_token))
    ).json() as TokenAnswer;
    assert.equal((await whoAmI(url, short.access_token)).status, 200);
    await sleep(1100);
    assert.match(nativeError(await whoAmI(url, short.access_token), 401), /expired/);
    const refreshed = await postForm(url, "/oauth2/token", {
      grant_type: "refresh_token",
      refresh_token: short.refresh_token ?? "",
    });
    assert.equal(refreshed.status, 200, refreshed.text);
  });

  it("response_type=code gives a code to exchange once", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    const response = await postForm(
      url,
      "/oauth2/authorize",
      { response_type: "code", expires_in: "300" },
      bearer(access_token),
    );
    assert.equal(response.status, 201, response.text);
    const { grant_type, code } = response.json() as { grant_type: string; code: string };
    assert.equal(grant_type, "authorization_code");
    const exchanged = await sendJson(url, "/oauth2/token", "POST", { grant_type: "authorization_code", code });
    assert.equal(exchanged.status, 200, exchanged.text);
    const token = exchanged.json() as TokenAnswer;
    assert.equal(token.expires_in, 300);
    assert.equal((await whoAmI(url, token.access_token)).status, 200);
    const again = await postForm(url, "/oauth2/token", { grant_type: "authorization_code", code });
    assert.match(assertOAuth2Error(again, 400, "invalid_grant"), /already used/);
    const missing = await postForm(url, "/oauth2/token", { grant_type: "authorization_code" });
    assert.equal(assertOAuth2Error(missing, 400, "invalid_request"), "code is required");
  });

  it("a code bound to a redirect_uri and a PKCE challenge needs both to match", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    const verifier = "v".repeat(64);
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const { code } = (
      await postForm(
        url,
        "/oauth2/authorize",
        {
          response_type: "code",
          redirect_uri: "http://localhost:5177/cb",
          code_challenge: challenge,
          code_challenge_method: "S256",
        },
        bearer(access_token),
      )
    ).json() as { code: string };
    const exchange = (extra: Record<string, string>) =>
      postForm(url, "/oauth2/token", { grant_type: "authorization_code", code, ...extra });
    assertOAuth2Error(
      await exchange({ redirect_uri: "http://localhost:1/cb", code_verifier: verifier }),
      400,
      "invalid_grant",
    );
    assertOAuth2Error(await exchange({}), 400, "invalid_grant");
    assertOAuth2Error(await exchange({ code_verifier: "w".repeat(64) }), 400, "invalid_grant");
    assertOAuth2Error(await exchange({ code_verifier: "short" }), 400, "invalid_request");
    const ok = await exchange({ redirect_uri: "http://localhost:5177/cb", code_verifier: verifier });
    assert.equal(ok.status, 200, ok.text);
  });

  it("a master_admin may make a token for another user (Kontena's --user); nobody else may", async (t) => {
    const { url, core } = await setUp(t);
    await core.users.create({ username: "root", password: PASSWORD, roles: ["master_admin"] });
    const root = await passwordGrant(url, "root", PASSWORD);
    const forAnn = await postForm(
      url,
      "/oauth2/authorize",
      { response_type: "token", user: "ann@example.com" },
      bearer(root.access_token),
    );
    assert.equal(forAnn.status, 201, forAnn.text);
    const token = forAnn.json() as TokenAnswer;
    assert.equal(token.user.name, "ann");
    assert.equal(((await whoAmI(url, token.access_token)).json() as { username: string }).username, "ann");
    const unknown = await postForm(
      url,
      "/oauth2/authorize",
      { response_type: "token", user: "zed" },
      bearer(root.access_token),
    );
    assert.equal(assertOAuth2Error(unknown, 400, "invalid_request"), "user zed not found");
    const ann = await passwordGrant(url, "ann", PASSWORD);
    const notAdmin = await postForm(
      url,
      "/oauth2/authorize",
      { response_type: "token", user: "root" },
      bearer(ann.access_token),
    );
    nativeError(notAdmin, 403);
  });

  it("refuses anonymous callers, unknown response types and bad parameters", async (t) => {
    const { url } = await setUp(t);
    const { access_token } = await passwordGrant(url, "ann", PASSWORD);
    nativeError(await postForm(url, "/oauth2/authorize", { response_type: "token" }), 401);
    const auth = bearer(access_token);
    assertOAuth2Error(await postForm(url, "/oauth2/authorize", {}, auth), 400, "invalid_request");
    const invite = await postForm(url, "/oauth2/authorize", { response_type: "invite" }, auth);
    assertOAuth2Error(invite, 400, "unsupported_response_type");
    for (const expires_in of ["-1", "soon", "1.5", String(11 * 365 * 24 * 3600)]) {
      const response = await postForm(url, "/oauth2/authorize", { response_type: "token", expires_in }, auth);
      assert.match(assertOAuth2Error(response, 400, "invalid_request"), /^expires_in must be a whole number/);
    }
    const badChallenge = await postForm(url, "/oauth2/authorize", { response_type: "code", code_challenge: "x" }, auth);
    assert.match(assertOAuth2Error(badChallenge, 400, "invalid_request"), /code_challenge/);
    assertOAuth2Error(
      await postForm(url, "/oauth2/authorize", { response_type: "token", scope: "root" }, auth),
      400,
      "invalid_scope",
    );
  });
});

describe("secrets stay out of the log", () => {
  it("no password, token or code appears in any log line", async (t) => {
    const { url, logs } = await setUp(t);
    const first = await passwordGrant(url, "ann", PASSWORD);
    const refreshed = (
      await postForm(url, "/oauth2/token", { grant_type: "refresh_token", refresh_token: first.refresh_token ?? "" })
    ).json() as TokenAnswer;
    const { code } = (
      await postForm(url, "/oauth2/authorize", { response_type: "code" }, bearer(refreshed.access_token))
    ).json() as { code: string };
    await postForm(url, "/oauth2/token", { grant_type: "authorization_code", code });
    await send(url, `/oauth2/token?code=${code}&access_token=${refreshed.access_token}`, { method: "POST" });
    const text = JSON.stringify(logs);
    assert.ok(logs.length > 0);
    for (const secret of [PASSWORD, first.access_token, first.refresh_token, refreshed.access_token, code]) {
      assert.equal(text.includes(secret ?? "?"), false, `a secret is in the log: ${secret}`);
    }
  });
});
