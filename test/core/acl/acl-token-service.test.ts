import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { ACL_TOKENS_PREFIX, ANONYMOUS_TOKEN_ID } from "../../../src/core/acl/acl-token-record.ts";
import { AclTokenService } from "../../../src/core/acl/acl-token-service.ts";
import { sharedHclParser } from "../../../src/core/acl/hcl-parser.ts";
import { BadRequestError } from "../../../src/core/errors/bad-request-error.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import type { StateStore } from "../../../src/store/state-store.ts";
import { openTestStore } from "../../support/test-store.ts";

const MASTER_TOKEN = "the-master-token";

async function setup(t: TestContext): Promise<{ store: StateStore; tokens: AclTokenService }> {
  const store = await openTestStore(t);
  const tokens = new AclTokenService(store, sharedHclParser, MASTER_TOKEN);
  await tokens.ensureAnonymous();
  return { store, tokens };
}

describe("ACL token service", () => {
  it("creates a token with Consul's defaults and the store's revisions as indexes", async (t) => {
    const { store, tokens } = await setup(t);
    const id = await tokens.set({});
    assert.match(id, /^[0-9a-f-]{36}$/);
    const token = await tokens.find(id);
    assert.deepEqual(token, {
      id,
      name: "",
      type: "client",
      rules: "",
      createIndex: store.currentRevision(),
      modifyIndex: store.currentRevision(),
    });
  });

  it("replaces a token on update, keeping its create index; fields left out go back to defaults", async (t) => {
    const { tokens } = await setup(t);
    const id = await tokens.set({ name: "app", rules: 'key "app/" { policy = "write" }' });
    const created = await tokens.find(id);
    assert.equal(await tokens.set({ id, type: "management" }), id);
    const updated = await tokens.find(id);
    assert.equal(updated?.name, "");
    assert.equal(updated?.rules, "");
    assert.equal(updated?.type, "management");
    assert.equal(updated?.createIndex, created?.createIndex);
    assert.ok((updated?.modifyIndex ?? 0) > (created?.modifyIndex ?? 0));
  });

  it("writes nothing when the rules do not compile", async (t) => {
    const { store, tokens } = await setup(t);
    const before = store.currentRevision();
    await assert.rejects(tokens.set({ id: "x", rules: 'key "a" {' }), BadRequestError);
    assert.equal(store.currentRevision(), before);
    assert.equal(await tokens.find("x"), undefined);
  });

  it("keeps the anonymous token: created once, rules editable, never management, never destroyed", async (t) => {
    const { tokens } = await setup(t);
    const anonymous = await tokens.find(ANONYMOUS_TOKEN_ID);
    assert.equal(anonymous?.name, "Anonymous Token");
    await tokens.set({ id: ANONYMOUS_TOKEN_ID, name: "Anonymous Token", rules: 'key "" { policy = "read" }' });
    await tokens.ensureAnonymous();
    assert.equal((await tokens.find(ANONYMOUS_TOKEN_ID))?.rules, 'key "" { policy = "read" }');
    await assert.rejects(tokens.set({ id: ANONYMOUS_TOKEN_ID, type: "management" }), /must stay a client token/);
    await assert.rejects(tokens.destroy(ANONYMOUS_TOKEN_ID), (error: unknown) => {
      return error instanceof ForbiddenError && error.message === "Permission denied: Cannot delete anonymous token";
    });
  });

  it("refuses to create, change or destroy a token under the master token's ID", async (t) => {
    const { tokens } = await setup(t);
    await assert.rejects(tokens.set({ id: MASTER_TOKEN }), ForbiddenError);
    await assert.rejects(tokens.destroy(MASTER_TOKEN), ForbiddenError);
    assert.equal(await tokens.find(MASTER_TOKEN), undefined);
  });

  it("destroys a token, and destroying a missing one is fine", async (t) => {
    const { tokens } = await setup(t);
    const id = await tokens.set({ name: "short-lived" });
    await tokens.destroy(id);
    assert.equal(await tokens.find(id), undefined);
    await tokens.destroy(id);
  });

  it("clones a token's name, type and rules under a new ID", async (t) => {
    const { tokens } = await setup(t);
    const id = await tokens.set({ name: "template", type: "client", rules: 'service "" { policy = "read" }' });
    const copy = await tokens.clone(id);
    assert.ok(copy && copy !== id);
    const cloned = await tokens.find(copy);
    assert.deepEqual(
      [cloned?.name, cloned?.type, cloned?.rules],
      ["template", "client", 'service "" { policy = "read" }'],
    );
    assert.equal(await tokens.clone("no-such-token"), undefined);
  });

  it("lists every token by ID and reads one, with the index of the last token change", async (t) => {
    const { store, tokens } = await setup(t);
    await tokens.set({ id: "b-token" });
    await tokens.set({ id: "a-token" });
    const changed = store.currentRevision();
    await store.put("/unrelated", 1);
    const list = await tokens.list();
    assert.deepEqual(
      list.value.map((token) => token.id),
      ["a-token", "anonymous", "b-token"],
    );
    assert.equal(list.index, changed);
    assert.equal(store.lastChange(ACL_TOKENS_PREFIX), changed);
    const one = await tokens.get("b-token");
    assert.equal(one.value?.id, "b-token");
    assert.equal(one.index, changed);
    assert.equal((await tokens.get("nope")).value, undefined);
  });
});
