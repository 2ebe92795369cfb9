import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { DEFAULT_GRID, GRIDS_PREFIX, GridService } from "../../../src/core/grids/grid-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

const newGrid = (name: string) => newGridSchema.parse({ name });

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const grids = new GridService(store, new SecretBox(randomBytes(32)), ["/secrets/", "/registries/"]);
  const admin = await makePrincipal(users, "admin", { admin: true });
  return { store, users, grids, admin };
}

describe("grid service", () => {
  it("creates the default grid on the first start only, even after it was removed", async (t) => {
    const { grids, admin } = await setup(t);
    await Promise.all([grids.ensureDefault(), grids.ensureDefault()]);
    const [grid] = await grids.list();
    assert.equal(grid?.name, DEFAULT_GRID);
    assert.equal(grid?.initial_size, 1);
    await grids.ensureDefault();
    assert.equal((await grids.get(DEFAULT_GRID)).token, grid?.token);
    await grids.remove(admin, DEFAULT_GRID);
    await grids.ensureDefault();
    assert.deepEqual(await grids.list(), []);
  });

  it("creates a grid with defaults and a 64-byte base64 token that finds it", async (t) => {
    const { grids, admin } = await setup(t);
    const created = await grids.create(admin, newGrid("matrix"));
    assert.equal(created.id, "matrix");
    assert.equal(created.initial_size, 1);
    assert.deepEqual(created.stats, { statsd: null });
    assert.deepEqual(created.trusted_subnets, []);
    assert.equal(Buffer.from(created.token ?? "", "base64").length, 64);
    assert.equal(created.created_at, created.updated_at);
    assert.match(created.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((await grids.findByToken(created.token ?? ""))?.name, "matrix");
    assert.equal(await grids.findByToken("not a token"), undefined);
    assert.equal(await grids.exists("matrix"), true);
    assert.equal(await grids.exists("other"), false);
    assert.equal(await grids.exists("../matrix"), false);
    assert.deepEqual(await grids.names(), ["matrix"]);
  });

  it("keeps the token sealed at rest", async (t) => {
    const { store, grids, admin } = await setup(t);
    const { token } = await grids.create(admin, newGrid("matrix"));
    const stored = JSON.stringify((await store.get(`${GRIDS_PREFIX}matrix`))?.value);
    assert.ok(token && !stored.includes(token), stored);
  });

  it("refuses a taken name with a field error, and callers who are not master_admin", async (t) => {
    const { users, grids, admin } = await setup(t);
    await grids.create(admin, newGrid("matrix"));
    await assert.rejects(
      grids.create(admin, newGrid("matrix")),
      (error: unknown) => error instanceof ValidationError && error.fields.name === "is already taken",
    );
    const gridAdmin = await makePrincipal(users, "ga", { grids: { matrix: "grid_admin" } });
    await assert.rejects(grids.create(gridAdmin, newGrid("other")), ForbiddenError);
    await assert.rejects(grids.remove(gridAdmin, "matrix"), ForbiddenError);
  });

  it("shows members their grids, with the token only to master_admin and grid_admin", async (t) => {
    const { users, grids, admin } = await setup(t);
    for (const name of ["a", "b", "c"]) await grids.create(admin, newGrid(name));
    const member = await makePrincipal(users, "member", { grids: { a: "member", b: "grid_admin" } });
    const outsider = await makePrincipal(users, "outsider");
    assert.deepEqual(
      (await grids.visibleTo(admin)).map((grid) => grid.name),
      ["a", "b", "c"],
    );
    const visible = await grids.visibleTo(member);
    assert.deepEqual(
      visible.map((grid) => [grid.name, grid.token !== undefined]),
      [
        ["a", false],
        ["b", true],
      ],
    );
    assert.deepEqual(await grids.visibleTo(outsider), []);
    assert.equal((await grids.show(member, "a")).token, undefined);
    assert.ok((await grids.show(member, "b")).token);
    // Outsiders learn nothing: an existing and a missing grid look the same to them.
    await assert.rejects(grids.show(outsider, "a"), ForbiddenError);
    await assert.rejects(grids.show(outsider, "nope"), ForbiddenError);
    await assert.rejects(grids.show(admin, "nope"), NotFoundError);
  });

  it("lets master_admin and the grid's grid_admin change stats and trusted subnets", async (t) => {
    const { users, grids, admin } = await setup(t);
    await grids.create(admin, newGrid("matrix"));
    const gridAdmin = await makePrincipal(users, "ga", { grids: { matrix: "grid_admin" } });
    const member = await makePrincipal(users, "m", { grids: { matrix: "member" } });
    const statsd = { server: "10.10.10.2", port: 8121 };
    const changed = await grids.update(gridAdmin, "matrix", { stats: { statsd }, trusted_subnets: ["10.240.0.0/16"] });
    assert.deepEqual(changed.stats, { statsd });
    assert.deepEqual(changed.trusted_subnets, ["10.240.0.0/16"]);
    const kept = await grids.update(admin, "matrix", { stats: {} });
    assert.deepEqual(kept.stats, { statsd });
    assert.deepEqual(kept.trusted_subnets, ["10.240.0.0/16"]);
    assert.deepEqual((await grids.update(admin, "matrix", { stats: { statsd: null } })).stats, { statsd: null });
    await assert.rejects(grids.update(member, "matrix", { trusted_subnets: [] }), ForbiddenError);
    await assert.rejects(grids.update(admin, "nope", { trusted_subnets: [] }), NotFoundError);
  });

  it("rotates the token: the old one finds nothing any more", async (t) => {
    const { grids, admin } = await setup(t);
    const before = await grids.create(admin, newGrid("matrix"));
    const after = await grids.rotateToken(admin, "matrix");
    assert.notEqual(after.token, before.token);
    assert.equal(await grids.findByToken(before.token ?? ""), undefined);
    assert.equal((await grids.findByToken(after.token ?? ""))?.name, "matrix");
  });

  it("removes the grid with its scoped records and memberships in one revision, sparing other grids", async (t) => {
    const { store, users, grids, admin } = await setup(t);
    await grids.create(admin, newGrid("a"));
    await grids.create(admin, newGrid("ab"));
    await makePrincipal(users, "m", { grids: { a: "member", ab: "grid_admin" } });
    for (const key of ["/secrets/a/X", "/registries/a/quay.io", "/secrets/ab/X"]) await store.put(key, {});
    const before = store.currentRevision();
    await grids.remove(admin, "a");
    assert.equal(store.currentRevision(), before + 1);
    assert.equal(await grids.exists("a"), false);
    assert.deepEqual(
      (await store.range("/", { prefix: true, keysOnly: true })).kvs
        .map((kv) => kv.key)
        .filter((key) => key.startsWith("/secrets/") || key.startsWith("/registries/")),
      ["/secrets/ab/X"],
    );
    assert.deepEqual((await users.get("m")).grids, { ab: "grid_admin" });
    await assert.rejects(grids.remove(admin, "a"), NotFoundError);
  });

  it("removing a grid while its members change loses neither the removal nor the other changes", async (t) => {
    const { users, grids, admin } = await setup(t);
    await grids.create(admin, newGrid("a"));
    await grids.create(admin, newGrid("b"));
    const names = Array.from({ length: 6 }, (_, i) => `user${i}`);
    for (const name of names) await makePrincipal(users, name, { grids: { a: "member" } });
    await Promise.all([grids.remove(admin, "a"), ...names.map((name) => users.setGridRole(name, "b", "member"))]);
    for (const name of names) assert.deepEqual((await users.get(name)).grids, { b: "member" });
  });
});
