import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { DEPLOY_KINDS } from "../../../src/core/deploys/deploy-kinds.ts";
import { ConflictError } from "../../../src/core/errors/conflict-error.ts";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { GridService } from "../../../src/core/grids/grid-service.ts";
import { NodeInstanceService } from "../../../src/core/nodes/node-instance-service.ts";
import { NodeLinkService } from "../../../src/core/nodes/node-link-service.ts";
import { NODE_SCOPED_PREFIXES } from "../../../src/core/nodes/node-record.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { deployResultsOf } from "../../../src/core/services/deploy-results.ts";
import { SERVICES_PREFIX, serviceKey } from "../../../src/core/services/service-record.ts";
import { instanceCounts, ServiceService } from "../../../src/core/services/service-service.ts";
import { UserService } from "../../../src/core/users/user-service.ts";
import { actualInstance, agentHello, desiredInstance } from "../../support/node-fixtures.ts";
import { makePrincipal } from "../../support/test-principals.ts";
import { openTestStore } from "../../support/test-store.ts";

async function setup(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const grids = new GridService(store, new SecretBox(randomBytes(32)), [SERVICES_PREFIX, ...NODE_SCOPED_PREFIXES]);
  await grids.ensureDefault();
  const operations = new OperationService(store);
  const nodeInstances = new NodeInstanceService(store);
  const services = new ServiceService(store, grids, operations, nodeInstances);
  const member = await makePrincipal(users, "member", { grids: { default: "member" } });
  const outsider = await makePrincipal(users, "outsider");
  return {
    store,
    grids,
    operations,
    nodeInstances,
    services,
    member,
    outsider,
    nodeLinks: new NodeLinkService(store, grids),
  };
}

describe("service service", () => {
  it("creates, updates and keeps what an update does not touch", async (t) => {
    const { store, services, member } = await setup(t);
    const created = await services.create(member, "default", { name: "web", image: "nginx", replicas: 2 });
    assert.equal(created.id, "default/null/web");
    assert.equal(created.spec.instances, 2);
    assert.equal(created.state, "initialized");
    assert.equal(created.deploy_generation, 0);
    assert.deepEqual(created.oneshot_done, {});
    await assert.rejects(services.create(member, "default", { name: "web", image: "x" }), ConflictError);

    // A deployer's fields survive a spec update.
    const kv = await store.get(serviceKey("default", null, "web"));
    await store.put(kv?.key as string, { ...(kv?.value as object), state: "running", deploy_generation: 4 });
    const updated = await services.update(member, "default/null/web", { env: ["A=1"], instances: 5 });
    assert.equal(updated.state, "running");
    assert.equal(updated.deploy_generation, 4);
    assert.deepEqual(updated.spec.env, ["A=1"]);
    assert.equal(updated.spec.instances, 5);
    assert.equal(updated.spec.image, "nginx");
    await assert.rejects(services.update(member, "default/null/web", { instances: 1, replicas: 2 }), (error) => {
      assert.ok(error instanceof ValidationError);
      assert.ok("replicas" in error.fields);
      return true;
    });
    await assert.rejects(services.update(member, "default/null/web", "nope"), ValidationError);
  });

  it("keeps non-members out and unknown ids not found", async (t) => {
    const { services, member, outsider } = await setup(t);
    await services.create(member, "default", { name: "web", image: "nginx" });
    await assert.rejects(services.get(outsider, "default/null/web"), ForbiddenError);
    await assert.rejects(services.list(outsider, "default"), ForbiddenError);
    await assert.rejects(services.deploy(outsider, "default/null/web"), ForbiddenError);
    for (const id of ["default/null", "default/null/web/1", "default//web", "default/null/NOT OK"])
      await assert.rejects(services.get(member, id), NotFoundError, id);
    await assert.rejects(services.list(member, "other"), ForbiddenError);
  });

  it("submits each action with its kind, target, description and user", async (t) => {
    const { services, member } = await setup(t);
    await services.create(member, "default", { name: "web", image: "nginx" });
    const removal = await services.remove(member, "default/null/web");
    assert.equal(removal.kind, DEPLOY_KINDS.serviceRemove);
    assert.equal(removal.description, "remove service default/null/web");
    assert.equal(removal.user, "member");
    assert.equal(removal.state, "queued");
    const scale = await services.scale(member, "default/null/web", 3);
    assert.equal(scale.description, "scale service default/null/web to 3");
    assert.deepEqual(scale.params, { service: "default/null/web", instances: 3 });
    await assert.rejects(services.scale(member, "default/null/web", "3"), ValidationError);
  });

  it("reads a service's instances with their nodes and states, and counts them", async (t) => {
    const { services, nodeInstances, nodeLinks, grids, member } = await setup(t);
    const service = await services.create(member, "default", { name: "web", image: "nginx", replicas: 2 });
    const grid = await grids.get("default");
    await nodeLinks.join(grid, agentHello("n1"));
    await nodeLinks.join(grid, agentHello("n2", { facts: { ...agentHello("n2").facts, node_id: "ENGINE:TWO" } }));
    const web = (n: number) => ({ id: `default/null/web/${n}`, name: `web-${n}`, stack: null });
    await nodeInstances.setDesired("default", "n1", [desiredInstance(2, web(2))]);
    await nodeInstances.setDesired("default", "n2", [desiredInstance(1, web(1))]);
    // A state reported by the other node for the same id is not this placement's.
    await nodeInstances.recordActual("default", "n1", [actualInstance(1, { id: "default/null/web/1" })], true);
    await nodeInstances.recordActual("default", "n2", [actualInstance(1, { id: "default/null/web/1" })], true);
    const views = await services.instances(service);
    assert.deepEqual(
      views.map((view) => [view.instance_number, view.node, view.container, view.actual?.state ?? null]),
      [
        [1, "n2", "web-1", "running"],
        [2, "n1", "web-2", null],
      ],
    );
    assert.deepEqual(instanceCounts(views), { total: 2, running: 1 });
  });

  it("reads deploy results from an operation's result output, skipping other lines", () => {
    const line = { service_id: "g/null/a", instance_deploys: [] };
    assert.deepEqual(deployResultsOf(""), []);
    assert.deepEqual(deployResultsOf(`{"x":1}\n[1]\nnot json\n${JSON.stringify(line)}\n`), [line]);
  });
});
