import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { ConflictError } from "../../../src/core/errors/conflict-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { GridService } from "../../../src/core/grids/grid-service.ts";
import { NodeInstanceService } from "../../../src/core/nodes/node-instance-service.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { SERVICES_PREFIX, serviceKey } from "../../../src/core/services/service-record.ts";
import { ServiceService } from "../../../src/core/services/service-service.ts";
import { parseStackFile } from "../../../src/core/stacks/stack-file-parser.ts";
import { STACKS_PREFIX } from "../../../src/core/stacks/stack-record.ts";
import { StackService } from "../../../src/core/stacks/stack-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const grids = new GridService(store, new SecretBox(randomBytes(32)), [SERVICES_PREFIX, STACKS_PREFIX]);
  await grids.ensureDefault();
  const operations = new OperationService(store);
  const stacks = new StackService(store, grids, operations);
  const services = new ServiceService(store, grids, operations, new NodeInstanceService(store));
  const admin = await makePrincipal(users, "admin", { admin: true });
  const member = await makePrincipal(users, "member", { grids: { default: "member" } });
  return { store, grids, stacks, services, admin, member };
}

const FILE = `stack: acme/shop
version: 1.0.0
services:
  web:
    image: nginx
    links: [db]
  db:
    image: postgres
`;

describe("stack service", () => {
  it("applies a definition: created the first time, updated after", async (t) => {
    const { stacks, services, member } = await setup(t);
    const first = await stacks.apply(member, "default", parseStackFile(FILE), FILE);
    assert.equal(first.created, true);
    assert.deepEqual(first.stack.services, ["db", "web"]);
    assert.equal(first.stack.source, FILE);
    assert.equal(first.stack.registry, "file://");
    const changed = FILE.replace("image: nginx", "image: nginx:2").replace("version: 1.0.0", "version: 1.1.0");
    const second = await stacks.apply(member, "default", parseStackFile(changed), changed);
    assert.equal(second.created, false);
    assert.equal(second.stack.version, "1.1.0");
    assert.equal(second.stack.created_at, first.stack.created_at);
    assert.equal((await services.get(member, "default/shop/web")).spec.image, "nginx:2");
    const listed = await stacks.services(second.stack);
    assert.deepEqual(
      listed.map((service) => service.id),
      ["default/shop/db", "default/shop/web"],
    );
  });

  it("leaves an unchanged service's record alone and keeps services no longer listed", async (t) => {
    const { store, stacks, member } = await setup(t);
    await stacks.createFromFile(member, "default", FILE);
    const db = await store.get(serviceKey("default", "shop", "db"));
    const dropped = FILE.replace("    links: [db]\n", "").replace("  db:\n    image: postgres\n", "");
    const updated = await stacks.updateFromFile(member, "default", "shop", dropped);
    assert.deepEqual(updated.services, ["web"]);
    assert.equal((await store.get(serviceKey("default", "shop", "db")))?.mod_revision, db?.mod_revision);
  });

  it("writes nothing when the stack name is taken or one service is invalid", async (t) => {
    const { store, stacks, member } = await setup(t);
    await stacks.createFromFile(member, "default", FILE);
    await assert.rejects(stacks.createFromFile(member, "default", FILE), ConflictError);
    const before = await store.range("/services/default/", { prefix: true });
    await assert.rejects(
      stacks.create(member, "default", {
        name: "other",
        stack: "a/other",
        version: "1",
        services: [
          { name: "ok", image: "x" },
          { name: "bad", image: "x", memory: "lots" },
        ],
      }),
      ValidationError,
    );
    assert.equal((await store.range("/services/default/", { prefix: true })).count, before.count);
    await assert.rejects(stacks.get(member, "default", "other"), NotFoundError);
  });

  it("loses no concurrent change to a service: its write is compared and retried", async (t) => {
    const { store, stacks, member } = await setup(t);
    await stacks.createFromFile(member, "default", FILE);
    const key = serviceKey("default", "shop", "web");
    // Between the update's read and its write, the deployer marks the service running.
    const txn = store.txn.bind(store);
    let calls = 0;
    let interfering = false;
    store.txn = async (request) => {
      if (interfering) return txn(request);
      calls += 1;
      if (calls === 1) {
        interfering = true;
        const kv = await store.get(key);
        await store.put(key, { ...(kv?.value as object), state: "running" });
        interfering = false;
      }
      return txn(request);
    };
    await stacks.updateFromFile(member, "default", "shop", FILE.replace("image: nginx", "image: nginx:3"));
    assert.equal(calls, 2);
    const stored = (await store.get(key))?.value as { state: string; spec: { image: string } };
    assert.equal(stored.state, "running");
    assert.equal(stored.spec.image, "nginx:3");
  });

  it("submits deploy and remove with the stack id", async (t) => {
    const { stacks, member } = await setup(t);
    await stacks.createFromFile(member, "default", FILE);
    const deploy = await stacks.deploy(member, "default", "shop");
    assert.deepEqual(
      [deploy.kind, deploy.target, deploy.deployment, deploy.params, deploy.user],
      ["stack.deploy", "stack/shop", "shop", { stack: "default/shop" }, "member"],
    );
    const removal = await stacks.remove(member, "default", "shop");
    assert.equal(removal.kind, "stack.remove");
    await assert.rejects(stacks.deploy(member, "default", "nope"), NotFoundError);
    await assert.rejects(stacks.get(member, "default", "Not A Name"), NotFoundError);
  });

  it("goes with its grid", async (t) => {
    const { store, grids, stacks, admin } = await setup(t);
    await grids.create(admin, { name: "tmp" });
    await stacks.createFromFile(admin, "tmp", FILE);
    await grids.remove(admin, "tmp");
    assert.equal((await store.range("/stacks/tmp/", { prefix: true })).count, 0);
    assert.equal((await store.range("/services/tmp/", { prefix: true })).count, 0);
  });
});
