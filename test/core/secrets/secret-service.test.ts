import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { GridService } from "../../../src/core/grids/grid-service.ts";
import { newSecretSchema, secretChangeSchema } from "../../../src/core/secrets/secret-record.ts";
import { SECRETS_PREFIX, SecretService } from "../../../src/core/secrets/secret-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { parseInput } from "../../../src/core/validation/parse-input.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const box = new SecretBox(randomBytes(32));
  const grids = new GridService(store, box, [SECRETS_PREFIX]);
  const secrets = new SecretService(store, grids, box);
  const admin = await makePrincipal(users, "admin", { admin: true });
  await grids.create(admin, newGridSchema.parse({ name: "my-grid" }));
  const member = await makePrincipal(users, "member", { grids: { "my-grid": "member" } });
  return { store, users, grids, secrets, admin, member };
}

const change = (value: string, upsert = false) => secretChangeSchema.parse({ value, upsert });

describe("secret service", () => {
  it("creates, lists without values, reads, updates and removes a secret", async (t) => {
    const { secrets, member } = await setup(t);
    const created = await secrets.create(member, "my-grid", { name: "SECRET_PWD", value: "T0Ps3crT" });
    assert.equal(created.id, "my-grid/SECRET_PWD");
    assert.equal("value" in created, false);
    const listed = await secrets.list(member, "my-grid");
    assert.deepEqual(listed, [created]);
    assert.equal((await secrets.read(member, "my-grid", "SECRET_PWD")).value, "T0Ps3crT");

    const updated = await secrets.update(member, "my-grid", "SECRET_PWD", change("n3w"));
    assert.equal(updated.created_at, created.created_at);
    assert.equal((await secrets.read(member, "my-grid", "SECRET_PWD")).value, "n3w");

    await secrets.remove(member, "my-grid", "SECRET_PWD");
    assert.deepEqual(await secrets.list(member, "my-grid"), []);
    await assert.rejects(secrets.read(member, "my-grid", "SECRET_PWD"), NotFoundError);
    await assert.rejects(secrets.remove(member, "my-grid", "SECRET_PWD"), NotFoundError);
  });

  it("seals values under their store key", async (t) => {
    const { store, secrets, member } = await setup(t);
    await secrets.create(member, "my-grid", { name: "A", value: "plain-text-value" });
    const kv = await store.get(`${SECRETS_PREFIX}my-grid/A`);
    assert.ok(kv);
    assert.ok(!JSON.stringify(kv.value).includes("plain-text-value"));
    // The same sealed value copied onto another secret does not open there.
    await store.put(`${SECRETS_PREFIX}my-grid/B`, kv.value);
    await assert.rejects(secrets.read(member, "my-grid", "B"));
  });

  it("refuses a taken name with a field error", async (t) => {
    const { secrets, member } = await setup(t);
    await secrets.create(member, "my-grid", { name: "A", value: "1" });
    await assert.rejects(
      secrets.create(member, "my-grid", { name: "A", value: "2" }),
      (error: unknown) => error instanceof ValidationError && error.fields.name === "is already taken",
    );
    assert.equal((await secrets.read(member, "my-grid", "A")).value, "1");
  });

  it("updates an unknown secret only with upsert", async (t) => {
    const { secrets, member } = await setup(t);
    await assert.rejects(secrets.update(member, "my-grid", "NEW", change("v")), NotFoundError);
    const upserted = await secrets.update(member, "my-grid", "NEW", change("v", true));
    assert.equal(upserted.name, "NEW");
    assert.equal((await secrets.read(member, "my-grid", "NEW")).value, "v");
    await assert.rejects(
      secrets.update(member, "my-grid", "-bad", change("v", true)),
      (error: unknown) => error instanceof ValidationError && "name" in error.fields,
    );
  });

  it("keeps non-members out and answers 404 for unknown grids and names", async (t) => {
    const { users, secrets, admin } = await setup(t);
    const outsider = await makePrincipal(users, "outsider", { grids: { other: "grid_admin" } });
    await secrets.create(admin, "my-grid", { name: "A", value: "1" });
    await assert.rejects(secrets.list(outsider, "my-grid"), ForbiddenError);
    await assert.rejects(secrets.read(outsider, "my-grid", "A"), ForbiddenError);
    await assert.rejects(secrets.create(outsider, "my-grid", { name: "B", value: "1" }), ForbiddenError);
    await assert.rejects(secrets.remove(outsider, "my-grid", "A"), ForbiddenError);
    await assert.rejects(secrets.list(admin, "nope"), NotFoundError);
    await assert.rejects(secrets.create(admin, "nope", { name: "B", value: "1" }), NotFoundError);
    await assert.rejects(secrets.read(admin, "my-grid", "no/such"), NotFoundError);
  });

  it("never writes into a grid removed meanwhile", async (t) => {
    const { store, grids, secrets, admin } = await setup(t);
    const writes = Array.from({ length: 10 }, (_, i) =>
      secrets.create(admin, "my-grid", { name: `S${i}`, value: "v" }).catch((error: unknown) => error),
    );
    await Promise.all([grids.remove(admin, "my-grid"), ...writes]);
    assert.equal((await store.range(SECRETS_PREFIX, { prefix: true })).count, 0);
  });

  it("validates names like Kontena's vault and values up to 64 KiB", () => {
    for (const name of ["SECRET_PWD", "db-password", "_x", "9lives"]) {
      assert.equal(parseInput(newSecretSchema, { name, value: "" }).name, name);
    }
    for (const name of ["", "-x", "a b", "a/b", "a.b", "ä", "x".repeat(256), 1]) {
      assert.throws(
        () => parseInput(newSecretSchema, { name, value: "v" }),
        (error: unknown) => error instanceof ValidationError && "name" in error.fields,
      );
    }
    assert.throws(
      () => parseInput(newSecretSchema, { name: "A", value: "x".repeat(64 * 1024 + 1) }),
      (error: unknown) => error instanceof ValidationError && "value" in error.fields,
    );
    assert.throws(
      () => parseInput(secretChangeSchema, { value: "v", upsert: "yes" }),
      (error: unknown) => error instanceof ValidationError && "upsert" in error.fields,
    );
  });
});
