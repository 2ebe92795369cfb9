import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LOGIN_REQUEST_LIFETIME_SECONDS, LoginRequestService } from "../../../src/core/oauth2/login-request-service.ts";
import { openTestStore } from "../../support/test-store.ts";

const request = {
  redirectUri: "http://localhost:5177/cb",
  clientState: "client-state",
  lifetime: 7200,
  codeChallenge: null,
  inviteCode: "the-invite-code",
};

describe("login request service", () => {
  it("hands a pending login back once, by its state", async (t) => {
    const requests = new LoginRequestService(await openTestStore(t));
    const { state, providerVerifier } = await requests.create(request);
    assert.deepEqual(await requests.take(state), { ...request, providerVerifier });
    assert.equal(await requests.take(state), undefined);
    assert.equal(await requests.take("made-up"), undefined);
  });

  it("keeps the invite code and verifier sealed: the store alone does not reveal them", async (t) => {
    const store = await openTestStore(t);
    const requests = new LoginRequestService(store);
    const { state, providerVerifier } = await requests.create(request);
    const stored = JSON.stringify((await store.range("/oauth2/", { prefix: true })).kvs);
    for (const secret of [request.inviteCode, providerVerifier, state]) {
      assert.equal(stored.includes(secret), false, `${secret} is readable in the store`);
    }
  });

  it("forgets a login that took too long", async (t) => {
    let now = Date.now();
    const requests = new LoginRequestService(await openTestStore(t), { now: () => now });
    const { state } = await requests.create(request);
    now += LOGIN_REQUEST_LIFETIME_SECONDS * 1000;
    assert.equal(await requests.take(state), undefined);
  });
});
