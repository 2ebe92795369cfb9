import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send } from "../../support/http-client.ts";
import { bearer, passwordGrant, postForm, type TokenAnswer } from "../../support/oauth2-requests.ts";
import { startTestHost } from "../../support/test-host.ts";

const PASSWORD = "correct horse battery";
const nativeError = errorShapeOf("native");

interface TokenJson {
  readonly id: string;
  readonly token_type: string;
  readonly access_token_last_four: string;
  readonly refresh_token_last_four: string | null;
  readonly expires_in: number | null;
  readonly scopes: string;
  readonly description: string | null;
  readonly user: { readonly id: string; readonly email: string | null; readonly name: string };
}

async function setUp(t: TestContext) {
  const host = await startTestHost(t);
  await host.core.users.create({ username: "ann", password: PASSWORD, email: "ann@example.com" });
  await host.core.users.create({ username: "bob", password: PASSWORD });
  const ann = await passwordGrant(host.url, "ann", PASSWORD);
  const bob = await passwordGrant(host.url, "bob", PASSWORD);
  return { ...host, ann, bob };
}

describe("/oauth2/tokens", () => {
  it("lists the caller's own tokens with last fours, lifetime, scopes and owner, never a secret", async (t) => {
    const { url, ann } = await setUp(t);
    const forever = (
      await postForm(
        url,
        "/oauth2/authorize",
        { response_type: "token", expires_in: "0", description: "deploy script" },
        bearer(ann.access_token),
      )
    ).json() as TokenAnswer;
    const response = await send(url, "/oauth2/tokens", { headers: bearer(ann.access_token) });
    assert.equal(response.status, 200, response.text);
    const { tokens } = response.json() as { tokens: TokenJson[] };
    assert.deepEqual(
      tokens.map((token) => token.id),
      [ann.id, forever.id],
    );
    const [login, script] = tokens as [TokenJson, TokenJson];
    assert.equal(login.token_type, "bearer");
    assert.equal(login.access_token_last_four, ann.access_token.slice(-4));
    assert.equal(login.refresh_token_last_four, ann.refresh_token?.slice(-4));
    assert.ok(login.expires_in !== null && login.expires_in > 7100 && login.expires_in <= 7200);
    assert.equal(login.scopes, "user");
    assert.deepEqual(login.user, { id: ann.user.id, email: "ann@example.com", name: "ann" });
    assert.equal(script.expires_in, null);
    assert.equal(script.refresh_token_last_four, null);
    assert.equal(script.description, "deploy script");
    for (const secret of [ann.access_token, ann.refresh_token, forever.access_token]) {
      assert.equal(response.text.includes(secret ?? "?"), false);
    }
  });

  it("shows one token; another user's is a 404 like a made-up id", async (t) => {
    const { url, ann, bob } = await setUp(t);
    const own = await send(url, `/oauth2/tokens/${ann.id}`, { headers: bearer(ann.access_token) });
    assert.equal(own.status, 200, own.text);
    assert.equal((own.json() as TokenJson).id, ann.id);
    nativeError(await send(url, `/oauth2/tokens/${bob.id}`, { headers: bearer(ann.access_token) }), 404);
    nativeError(await send(url, "/oauth2/tokens/nope", { headers: bearer(ann.access_token) }), 404);
    nativeError(await send(url, "/oauth2/tokens/%00", { headers: bearer(ann.access_token) }), 404);
    const bobs = (await send(url, "/oauth2/tokens", { headers: bearer(bob.access_token) })).json() as {
      tokens: TokenJson[];
    };
    assert.deepEqual(
      bobs.tokens.map((token) => token.id),
      [bob.id],
    );
    nativeError(await send(url, "/oauth2/tokens"), 401);
  });

  it("deleting revokes at once: the access token is a 401 and the refresh token dead", async (t) => {
    const { url, ann, bob } = await setUp(t);
    const other = await passwordGrant(url, "ann", PASSWORD);
    const refused = await send(url, `/oauth2/tokens/${bob.id}`, {
      method: "DELETE",
      headers: bearer(ann.access_token),
    });
    nativeError(refused, 404);
    assert.equal((await send(url, "/v1/user", { headers: bearer(bob.access_token) })).status, 200);

    const deleted = await send(url, `/oauth2/tokens/${other.id}`, {
      method: "DELETE",
      headers: bearer(ann.access_token),
    });
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(deleted.json(), {});
    nativeError(await send(url, "/v1/user", { headers: bearer(other.access_token) }), 401);
    const refresh = await postForm(url, "/oauth2/token", {
      grant_type: "refresh_token",
      refresh_token: other.refresh_token ?? "",
    });
    assert.equal(refresh.status, 400);
    nativeError(
      await send(url, `/oauth2/tokens/${other.id}`, { method: "DELETE", headers: bearer(ann.access_token) }),
      404,
    );

    // A token may revoke itself: the answer still goes out, the next request is refused.
    const self = await send(url, `/oauth2/tokens/${ann.id}`, { method: "DELETE", headers: bearer(ann.access_token) });
    assert.equal(self.status, 200, self.text);
    nativeError(await send(url, "/oauth2/tokens", { headers: bearer(ann.access_token) }), 401);
  });

  it("a deleted user's tokens stop working", async (t) => {
    const { url, core, ann } = await setUp(t);
    await core.users.remove("ann");
    assert.match(
      nativeError(await send(url, "/v1/user", { headers: bearer(ann.access_token) }), 401),
      /no longer exists/,
    );
  });
});
