import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import type { DesiredChange } from "../../../src/core/nodes/node-instance-service.ts";
import { eventually } from "../../support/consul-master.ts";
import { actualInstance, agentHello, desiredInstance, nodeCore, nodeFacts } from "../../support/node-fixtures.ts";

async function withNodes(t: import("node:test").TestContext) {
  const core = await nodeCore(t);
  await core.nodeLinks.join(core.grid, agentHello("one"));
  await core.nodeLinks.join(core.grid, agentHello("two", { facts: nodeFacts({ node_id: "E2" }) }));
  return core;
}

describe("node instance service", () => {
  it("sets a node's whole desired set; unchanged instances are not rewritten", async (t) => {
    const { nodeInstances, store } = await withNodes(t);
    await nodeInstances.setDesired("default", "one", [desiredInstance(1), desiredInstance(2)]);
    const first = await nodeInstances.snapshot("default", "one");
    assert.deepEqual(
      first.instances.map((instance) => instance.id),
      ["default/shop/web/1", "default/shop/web/2"],
    );
    assert.deepEqual(first.instances[0]?.env, [], "defaults filled in");
    assert.deepEqual((await nodeInstances.snapshot("default", "two")).instances, [], "per node");

    const revision = store.currentRevision();
    assert.equal(await nodeInstances.setDesired("default", "one", [desiredInstance(1), desiredInstance(2)]), revision);
    assert.equal(store.currentRevision(), revision, "nothing written");

    await nodeInstances.setDesired("default", "one", [desiredInstance(2, { revision: "r2" }), desiredInstance(3)]);
    const second = await nodeInstances.snapshot("default", "one");
    assert.deepEqual(
      second.instances.map((instance) => [instance.id, instance.revision]),
      [
        ["default/shop/web/2", "r2"],
        ["default/shop/web/3", "r1"],
      ],
    );
    assert.equal(second.revision, revision + 1, "one transaction");
  });

  it("refuses bad sets whole, naming the fields, and unknown nodes", async (t) => {
    const { nodeInstances } = await withNodes(t);
    await nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    const fieldsOf = async (instances: unknown[]) => {
      const error = await nodeInstances.setDesired("default", "one", instances as never).then(
        () => assert.fail("accepted"),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ValidationError);
      return Object.keys(error.fields);
    };
    assert.deepEqual(await fieldsOf([desiredInstance(1, { grid: "other" })]), ["0.grid"]);
    assert.deepEqual(await fieldsOf([desiredInstance(1), desiredInstance(1)]), ["1.id"]);
    assert.deepEqual(await fieldsOf([desiredInstance(1, { image: "" })]), ["0.image"]);
    assert.deepEqual(await fieldsOf([{ ...desiredInstance(2), revision: undefined }]), ["0.revision"]);
    assert.equal((await nodeInstances.snapshot("default", "one")).instances.length, 1, "nothing half-written");
    await assert.rejects(nodeInstances.setDesired("default", "nope", []), NotFoundError);
  });

  it("follows a node's desired set from a snapshot's revision without missing a change", async (t) => {
    const { nodeInstances } = await withNodes(t);
    await nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    const snapshot = await nodeInstances.snapshot("default", "one");
    // Changes made between the snapshot and the watch are replayed from the revision.
    await nodeInstances.setDesired("default", "one", [desiredInstance(1), desiredInstance(2)]);
    await nodeInstances.setDesired("default", "two", [desiredInstance(9)]);
    const changes: DesiredChange[] = [];
    const watcher = nodeInstances.watchDesired("default", "one", snapshot.revision + 1, (change) =>
      changes.push(change),
    );
    t.after(() => watcher.cancel());
    await nodeInstances.setDesired("default", "one", [desiredInstance(2)]);
    await eventually(
      async () => changes.length,
      (count) => count === 2,
    );
    assert.deepEqual(
      changes.map((change) => [change.put.map((instance) => instance.id), change.delete]),
      [
        [["default/shop/web/2"], []],
        [[], ["default/shop/web/1"]],
      ],
    );
  });

  it("stores reports: complete ones replace, partial ones update, removed instances go", async (t) => {
    const { nodeInstances, nodes, admin } = await withNodes(t);
    await nodeInstances.recordActual("default", "one", [actualInstance(1), actualInstance(2)], true);
    await nodeInstances.recordActual("default", "one", [actualInstance(2, { state: "exited", exit_code: 3 })], false);
    assert.deepEqual(
      (await nodeInstances.actual("default", "one")).map((state) => [state.id, state.state]),
      [
        ["default/shop/web/1", "running"],
        ["default/shop/web/2", "exited"],
      ],
    );
    await nodeInstances.recordActual("default", "one", [actualInstance(1, { state: "removed" })], false);
    assert.deepEqual(
      (await nodeInstances.actual("default", "one")).map((state) => state.id),
      ["default/shop/web/2"],
    );
    await nodeInstances.recordActual("default", "one", [actualInstance(3)], true);
    assert.deepEqual(
      (await nodeInstances.actual("default", "one")).map((state) => state.id),
      ["default/shop/web/3"],
    );
    await nodes.remove(admin, "default", "one");
    await nodeInstances.recordActual("default", "one", [actualInstance(4)], false);
    assert.deepEqual(await nodeInstances.actual("default", "one"), [], "nothing for a deleted node");
  });
});
