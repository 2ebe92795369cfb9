import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { GridService } from "../../../src/core/grids/grid-service.ts";
import { newRegistrySchema } from "../../../src/core/registries/registry-record.ts";
import { REGISTRIES_PREFIX, RegistryService } from "../../../src/core/registries/registry-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { parseInput } from "../../../src/core/validation/parse-input.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

const registry = (url: string, password = "xyz123") => ({
  url,
  username: "a_bot",
  email: "a_bot@domain.com",
  password,
});

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const box = new SecretBox(randomBytes(32));
  const grids = new GridService(store, box, [REGISTRIES_PREFIX]);
  const registries = new RegistryService(store, grids, box);
  const admin = await makePrincipal(users, "admin", { admin: true });
  await grids.create(admin, newGridSchema.parse({ name: "my-grid" }));
  await grids.create(admin, newGridSchema.parse({ name: "other" }));
  const member = await makePrincipal(users, "member", { grids: { "my-grid": "member" } });
  return { store, registries, admin, member };
}

describe("registry service", () => {
  it("adds a registry named by its host, lists it without the password, and removes it", async (t) => {
    const { store, registries, member } = await setup(t);
    const created = await registries.create(member, "my-grid", registry("https://registry.domain.com/"));
    assert.deepEqual(
      { ...created, created_at: undefined, updated_at: undefined },
      {
        id: "my-grid/registry.domain.com",
        name: "registry.domain.com",
        url: "https://registry.domain.com/",
        username: "a_bot",
        email: "a_bot@domain.com",
        created_at: undefined,
        updated_at: undefined,
      },
    );
    assert.deepEqual(await registries.list(member, "my-grid"), [created]);
    const stored = JSON.stringify((await store.get(`${REGISTRIES_PREFIX}my-grid/registry.domain.com`))?.value);
    assert.ok(!stored.includes("xyz123"), stored);
    await registries.remove(member, "my-grid", "Registry.Domain.com");
    assert.deepEqual(await registries.list(member, "my-grid"), []);
    await assert.rejects(registries.remove(member, "my-grid", "registry.domain.com"), NotFoundError);
  });

  it("names registries host[:port], dropping the scheme's default port", async (t) => {
    const { registries, member } = await setup(t);
    const names = [];
    for (const url of [
      "http://localhost:5000",
      "https://Quay.IO:443/v2/",
      "https://10.0.0.1:8443/",
      "http://[::1]:5000/",
    ]) {
      names.push((await registries.create(member, "my-grid", registry(url))).name);
    }
    assert.deepEqual(names, ["localhost:5000", "quay.io", "10.0.0.1:8443", "[::1]:5000"]);
  });

  it("refuses a second registry for the same host with a field error on url", async (t) => {
    const { registries, member } = await setup(t);
    await registries.create(member, "my-grid", registry("https://quay.io/"));
    await assert.rejects(
      registries.create(member, "my-grid", registry("https://quay.io/other/path")),
      (error: unknown) => error instanceof ValidationError && "url" in error.fields,
    );
  });

  it("gives agents the credentials for an image's registry in their grid only", async (t) => {
    const { registries, admin } = await setup(t);
    await registries.create(admin, "my-grid", registry("http://localhost:5000", "local-pass"));
    await registries.create(admin, "my-grid", registry("https://index.docker.io/v1/", "hub-pass"));
    await registries.create(admin, "other", registry("https://quay.io/", "quay-pass"));
    assert.deepEqual(await registries.credentialsFor("my-grid", "localhost:5000/team/app:1.2"), {
      username: "a_bot",
      password: "local-pass",
      serveraddress: "localhost:5000",
    });
    for (const image of ["busybox", "library/redis:7", `docker.io/library/busybox@sha256:${"a".repeat(64)}`]) {
      assert.deepEqual(
        await registries.credentialsFor("my-grid", image),
        { username: "a_bot", password: "hub-pass", serveraddress: "https://index.docker.io/v1/" },
        image,
      );
    }
    assert.equal(await registries.credentialsFor("my-grid", "quay.io/coreos/etcd"), undefined);
    assert.equal((await registries.credentialsFor("other", "quay.io/coreos/etcd"))?.password, "quay-pass");
    assert.equal(await registries.credentialsFor("other", "busybox"), undefined);
    assert.equal(await registries.credentialsFor("nope", "busybox"), undefined);
  });

  it("keeps non-members out and answers 404 for an unknown grid", async (t) => {
    const { registries, admin, member } = await setup(t);
    await assert.rejects(registries.list(member, "other"), ForbiddenError);
    await assert.rejects(registries.create(member, "other", registry("https://quay.io/")), ForbiddenError);
    await assert.rejects(registries.remove(member, "other", "quay.io"), ForbiddenError);
    await assert.rejects(registries.list(admin, "nope"), NotFoundError);
  });

  it("validates the url, username, email and password", () => {
    const bad = (input: Record<string, unknown>, field: string) =>
      assert.throws(
        () => parseInput(newRegistrySchema, { url: "https://quay.io/", username: "u", password: "p", ...input }),
        (error: unknown) => error instanceof ValidationError && field in error.fields,
        JSON.stringify(input),
      );
    for (const url of ["quay.io", "ftp://quay.io/", "https://user:pw@quay.io/", "", 5]) bad({ url }, "url");
    bad({ username: "" }, "username");
    bad({ password: undefined }, "password");
    bad({ email: "nope" }, "email");
    assert.equal(
      parseInput(newRegistrySchema, { url: "https://quay.io/", username: "u", password: "p" }).email,
      undefined,
    );
  });
});
