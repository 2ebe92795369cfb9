import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { send, sendJson } from "../../support/http-client.ts";
import { assertOAuth2Error, bearer, passwordGrant, postForm, type TokenAnswer } from "../../support/oauth2-requests.ts";
import { loginAtProvider, type ProviderClient, startTestProvider } from "../../support/oidc-test-provider.ts";
import { startTestHost } from "../../support/test-host.ts";

const PASSWORD = "correct horse battery";
const CLIENT_REDIRECT = "http://localhost:5177/cb";
const BASIC: ProviderClient = {
  client_id: "berth-basic",
  client_secret: "basic-client-secret-value",
  token_endpoint_auth_method: "client_secret_basic",
};
const POST: ProviderClient = {
  client_id: "berth-post",
  client_secret: "post-client-secret-value",
  token_endpoint_auth_method: "client_secret_post",
};

/** A master configured (through /v1/config, as an admin would) to log in through a real OIDC provider. */
async function setUp(t: TestContext, mode: "discovery" | "endpoints" = "discovery", client = BASIC) {
  const host = await startTestHost(t);
  await host.core.users.create({ username: "admin", password: PASSWORD, roles: ["master_admin"] });
  const admin = await passwordGrant(host.url, "admin", PASSWORD);
  const provider = await startTestProvider(t, {
    redirectUri: `${host.url}/cb`,
    clients: [BASIC, POST],
    accounts: {
      "carol-at-idp": { email: "carol@example.com", email_verified: true },
      "dave-at-idp": { email: "dave@example.com", email_verified: true },
      "eve-at-idp": { email: "eve@example.com", email_verified: true },
      "mallory-at-idp": { email: "dave@example.com", email_verified: false },
    },
  });
  const providerKeys =
    mode === "discovery"
      ? { "oauth2.issuer": provider.issuer }
      : {
          "oauth2.authorize_endpoint": `${provider.issuer}/auth`,
          "oauth2.token_endpoint": `${provider.issuer}/token`,
          "oauth2.userinfo_endpoint": `${provider.issuer}/me`,
          "oauth2.userinfo_scope": "openid email",
        };
  const configured = await sendJson(
    host.url,
    "/v1/config",
    "PATCH",
    {
      "oauth2.client_id": client.client_id,
      "oauth2.client_secret": client.client_secret,
      "server.root_url": host.url,
      ...providerKeys,
    },
    bearer(admin.access_token),
  );
  assert.equal(configured.status, 200, configured.text);
  return { ...host, provider };
}

/** GET without following redirects. */
function get(url: string, path: string) {
  return send(url, path, { redirect: "manual" });
}

/** /oauth2/authenticate → the provider's pages → /cb → the client's redirect, as a browser goes. */
async function browserLogin(url: string, account: string, params: Record<string, string>, abort = false): Promise<URL> {
  const started = await get(url, `/oauth2/authenticate?${new URLSearchParams(params)}`);
  assert.equal(started.status, 302, started.text);
  const atMaster = await loginAtProvider(started.headers.get("location") ?? "", account, { abort });
  assert.equal(atMaster.origin, new URL(url).origin);
  assert.equal(atMaster.pathname, "/cb");
  const finished = await get(url, atMaster.pathname + atMaster.search);
  assert.equal(finished.status, 302, finished.text);
  assert.equal(finished.headers.get("cache-control"), "no-store");
  return new URL(finished.headers.get("location") ?? "");
}

async function exchange(url: string, code: string, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  const response = await postForm(url, "/oauth2/token", { grant_type: "authorization_code", code, ...extra });
  assert.equal(response.status, 200, response.text);
  return response.json() as TokenAnswer;
}

async function whoAmI(url: string, token: string) {
  const response = await send(url, "/v1/user", { headers: bearer(token) });
  assert.equal(response.status, 200, response.text);
  return response.json() as { username: string; email: string | null };
}

describe("login through an external provider", () => {
  it("redeems an invite: the provider account is linked, and logs in by that link afterwards", async (t) => {
    const { url, core, logs } = await setUp(t, "discovery", BASIC);
    const { invite_code } = await core.users.create({ username: "carol" });
    const started = await get(
      url,
      `/oauth2/authenticate?${new URLSearchParams({ redirect_uri: CLIENT_REDIRECT, invite_code: invite_code ?? "" })}`,
    );
    const toProvider = new URL(started.headers.get("location") ?? "");
    assert.equal(toProvider.searchParams.get("client_id"), BASIC.client_id);
    assert.equal(toProvider.searchParams.get("redirect_uri"), `${url}/cb`);
    assert.equal(toProvider.searchParams.get("code_challenge_method"), "S256");
    assert.ok(toProvider.searchParams.get("state"));

    const back = await browserLogin(url, "carol-at-idp", {
      redirect_uri: CLIENT_REDIRECT,
      invite_code: invite_code ?? "",
      state: "client-state-1",
      expires_in: "600",
    });
    assert.equal(`${back.origin}${back.pathname}`, CLIENT_REDIRECT);
    assert.equal(back.searchParams.get("state"), "client-state-1");
    const token = await exchange(url, back.searchParams.get("code") ?? "");
    assert.equal(token.expires_in, 600);
    const carol = await whoAmI(url, token.access_token);
    assert.equal(carol.username, "carol");
    assert.equal(carol.email, "carol@example.com", "the invite took the provider's verified address");

    const reused = await get(
      url,
      `/oauth2/authenticate?${new URLSearchParams({ redirect_uri: CLIENT_REDIRECT, invite_code: invite_code ?? "" })}`,
    );
    assertOAuth2Error(reused, 403, "access_denied");

    const again = await browserLogin(url, "carol-at-idp", { redirect_uri: CLIENT_REDIRECT });
    const second = await exchange(url, again.searchParams.get("code") ?? "");
    assert.equal((await whoAmI(url, second.access_token)).username, "carol");
    assert.equal(JSON.stringify(logs).includes(BASIC.client_secret), false, "the client secret is in the log");
    assert.equal(JSON.stringify(logs).includes(invite_code ?? "?"), false, "the invite code is in the log");
  });

  it("matches a user by verified e-mail (configured endpoints, secret posted) and keeps the client's PKCE", async (t) => {
    const { url, core } = await setUp(t, "endpoints", POST);
    await core.users.create({ username: "dave", password: PASSWORD, email: "dave@example.com" });
    const verifier = "d".repeat(50);
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const back = await browserLogin(url, "dave-at-idp", {
      redirect_uri: CLIENT_REDIRECT,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const code = back.searchParams.get("code") ?? "";
    const withoutVerifier = await postForm(url, "/oauth2/token", { grant_type: "authorization_code", code });
    assertOAuth2Error(withoutVerifier, 400, "invalid_grant");
    const elsewhere = await postForm(url, "/oauth2/token", {
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: "http://localhost:9999/cb",
    });
    assertOAuth2Error(elsewhere, 400, "invalid_grant");
    const token = await exchange(url, code, { code_verifier: verifier, redirect_uri: CLIENT_REDIRECT });
    assert.equal((await whoAmI(url, token.access_token)).username, "dave");
  });

  it("refuses a provider user matching nobody, or only by an unverified address: no self sign-up", async (t) => {
    const { url, core } = await setUp(t);
    const before = (await core.users.list()).length;
    await core.users.create({ username: "dave", password: PASSWORD, email: "dave@example.com" });
    for (const [account, why] of [
      ["eve-at-idp", /no Berth user matches eve@example\.com; ask an administrator for an invite/],
      ["mallory-at-idp", /no Berth user matches dave@example\.com/],
    ] as const) {
      const back = await browserLogin(url, account, { redirect_uri: CLIENT_REDIRECT, state: "s" });
      assert.equal(back.searchParams.get("code"), null);
      assert.equal(back.searchParams.get("error"), "access_denied");
      assert.match(back.searchParams.get("error_description") ?? "", why);
      assert.equal(back.searchParams.get("state"), "s");
    }
    assert.equal((await core.users.list()).length, before + 1);
  });

  it("a login cancelled at the provider comes back to the client as access_denied", async (t) => {
    const { url } = await setUp(t);
    const back = await browserLogin(url, "carol-at-idp", { redirect_uri: CLIENT_REDIRECT }, true);
    assert.equal(back.searchParams.get("error"), "access_denied");
    assert.match(back.searchParams.get("error_description") ?? "", /the provider refused the login: access_denied/);
  });

  it("a provider refusing Berth's client secret fails the login with server_error, not a 500", async (t) => {
    const { url } = await setUp(t, "discovery", { ...BASIC, client_secret: "wrong-secret" });
    const back = await browserLogin(url, "carol-at-idp", { redirect_uri: CLIENT_REDIRECT });
    assert.equal(back.searchParams.get("error"), "server_error");
    assert.match(back.searchParams.get("error_description") ?? "", /invalid_client/);
  });

  it("/cb without a known state is 400 invalid_request; a callback cannot be replayed", async (t) => {
    const { url, core } = await setUp(t);
    await core.users.create({ username: "dave", password: PASSWORD, email: "dave@example.com" });
    assert.equal(assertOAuth2Error(await get(url, "/cb?code=x"), 400, "invalid_request"), "state is required");
    const unknown = await get(url, "/cb?code=x&state=made-up");
    assert.match(assertOAuth2Error(unknown, 400, "invalid_request"), /unknown, expired or already completed/);

    const started = await get(url, `/oauth2/authenticate?${new URLSearchParams({ redirect_uri: CLIENT_REDIRECT })}`);
    const atMaster = await loginAtProvider(started.headers.get("location") ?? "", "dave-at-idp");
    assert.equal((await get(url, atMaster.pathname + atMaster.search)).status, 302);
    const replayed = await get(url, atMaster.pathname + atMaster.search);
    assertOAuth2Error(replayed, 400, "invalid_request");
  });
});

describe("GET /oauth2/authenticate", () => {
  it("without a configured provider is 503 naming the keys to set", async (t) => {
    const { url } = await startTestHost(t);
    const response = await get(url, `/oauth2/authenticate?${new URLSearchParams({ redirect_uri: CLIENT_REDIRECT })}`);
    assert.match(
      assertOAuth2Error(response, 503, "temporarily_unavailable"),
      /set oauth2\.client_id, oauth2\.client_secret, server\.root_url, .*oauth2\.issuer/,
    );
  });

  it("refuses redirects off this machine and this master, bad parameters and unknown invites", async (t) => {
    const { url } = await setUp(t);
    const authenticate = (params: Record<string, string>) =>
      get(url, `/oauth2/authenticate?${new URLSearchParams(params)}`);
    for (const redirect_uri of ["https://evil.example.com/cb", "/code", "http://localhost:5177/cb#x"]) {
      assertOAuth2Error(await authenticate({ redirect_uri }), 400, "invalid_request");
    }
    assert.equal((await authenticate({ redirect_uri: `${url}/somewhere` })).status, 302, "this master is fine");
    assert.equal(assertOAuth2Error(await authenticate({}), 400, "invalid_request"), "redirect_uri is required");
    assertOAuth2Error(await authenticate({ redirect_uri: CLIENT_REDIRECT, expires_in: "x" }), 400, "invalid_request");
    assertOAuth2Error(
      await authenticate({ redirect_uri: CLIENT_REDIRECT, code_challenge: "c".repeat(43) }),
      400,
      "invalid_request",
    );
    const unknown = await authenticate({ redirect_uri: CLIENT_REDIRECT, invite_code: "made-up-invite" });
    assert.match(assertOAuth2Error(unknown, 403, "access_denied"), /invite code is unknown/);
  });
});
