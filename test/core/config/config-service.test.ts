import assert from "node:assert/strict";
import { test } from "node:test";
import type { Principal } from "../../../src/core/auth/principal.ts";
import { CONFIG_KEY, ConfigService } from "../../../src/core/config/config-service.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import type { User } from "../../../src/core/users/user-record.ts";
import { openTestStore } from "../../support/test-store.ts";

const caller = (roles: User["roles"], grids: User["grids"] = {}): Principal => ({
  user: {
    id: "id",
    username: "someone",
    email: null,
    roles,
    grids,
    has_password: true,
    invite_pending: false,
    created_at: "",
    updated_at: "",
  },
  method: "password",
  scopes: ["user"],
});
const admin = caller(["master_admin"]);

test("get is empty until something is stored", async (t) => {
  const config = new ConfigService(await openTestStore(t));
  assert.deepEqual(await config.get(), {});
});

test("update merges into one record; replace overwrites it", async (t) => {
  const store = await openTestStore(t);
  const config = new ConfigService(store);
  assert.deepEqual(await config.update(admin, { a: "1", b: "2" }), { a: "1", b: "2" });
  assert.deepEqual(await config.update(admin, { b: "3" }), { a: "1", b: "3" });
  assert.deepEqual((await store.get(CONFIG_KEY))?.value, { a: "1", b: "3" });
  assert.deepEqual(await config.replace(admin, { c: "4" }), { c: "4" });
  assert.deepEqual(await config.get(), { c: "4" });
});

test("concurrent updates are all kept (compare-and-swap, no lost update)", async (t) => {
  const store = await openTestStore(t);
  const config = new ConfigService(store);
  const keys = Array.from({ length: 20 }, (_, i) => `key.${i}`);
  await Promise.all(keys.map((key) => config.update(admin, { [key]: key })));
  assert.deepEqual(Object.keys(await config.get()).sort(), [...keys].sort());
});

test("the returned object is the caller's to change", async (t) => {
  const config = new ConfigService(await openTestStore(t));
  await config.update(admin, { a: "1" });
  const copy = await config.get();
  copy.a = "changed";
  assert.deepEqual(await config.get(), { a: "1" });
});

test("updates from two masters sharing the store are all kept", async (t) => {
  const store = await openTestStore(t);
  const masters = [new ConfigService(store), new ConfigService(store)];
  const keys = Array.from({ length: 16 }, (_, i) => `key.${i}`);
  await Promise.all(keys.map((key, i) => masters[i % 2]!.update(admin, { [key]: key })));
  assert.deepEqual(Object.keys(await masters[0]!.get()).sort(), [...keys].sort());
});

test("only a master_admin reads or changes it through the API; invalid values change nothing", async (t) => {
  const config = new ConfigService(await openTestStore(t));
  await config.update(admin, { a: "1" });
  assert.deepEqual(await config.read(admin), { a: "1" });
  for (const someone of [caller([]), caller([], { default: "grid_admin" })]) {
    await assert.rejects(config.read(someone), ForbiddenError);
    await assert.rejects(config.update(someone, { a: "2" }), ForbiddenError);
    await assert.rejects(config.replace(someone, {}), ForbiddenError);
    // Refused before the input is even looked at.
    await assert.rejects(config.update(someone, { a: 2 }), ForbiddenError);
  }
  await assert.rejects(config.update(admin, { a: 2 }), ValidationError);
  assert.deepEqual(await config.get(), { a: "1" });
});
