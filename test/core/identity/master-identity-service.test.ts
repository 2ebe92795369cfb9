import assert from "node:assert/strict";
import { test } from "node:test";
import { IDENTITY_KEY, MasterIdentityService } from "../../../src/core/identity/master-identity-service.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { openTestStore } from "../../support/test-store.ts";

test("the identity is created on first load and the same after reopening the store", async (t) => {
  const dir = await makeTempDir(t);
  const store = await openTestStore(t, dir);
  const first = await new MasterIdentityService(store).load();
  assert.match(first.uuid, /^[0-9a-f-]{36}$/);
  assert.deepEqual((await store.get(IDENTITY_KEY))?.value, { ...first });
  await store.close();

  const reopened = await openTestStore(t, dir);
  const service = new MasterIdentityService(reopened);
  assert.deepEqual(await service.load(), first);
  assert.deepEqual(service.identity(), first);
});

test("masters loading together agree on one identity", async (t) => {
  const store = await openTestStore(t);
  const identities = await Promise.all(Array.from({ length: 5 }, () => new MasterIdentityService(store).load()));
  assert.equal(new Set(identities.map((identity) => identity.uuid)).size, 1);
});

test("identity() before load() is a programming error", async (t) => {
  assert.throws(() => new MasterIdentityService({} as never).identity(), /load\(\)/);
  void t;
});
