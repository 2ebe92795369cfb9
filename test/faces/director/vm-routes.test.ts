import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBoshManifest } from "../../../src/core/stacks/bosh-manifest.ts";
import { directorMaster, manifest } from "../../support/director-master.ts";
import { actualInstance, agentHello, desiredInstance, nodeFacts } from "../../support/node-fixtures.ts";

test("vms list a stack's instances; format=full redirects to a task whose result has each one's details", async (t) => {
  const { master, admin, request, taskOf } = await directorMaster(t);
  // Applied without a deploy, so that the instances are the ones this test places.
  await master.core.stacks.apply(admin, "default", parseBoshManifest(manifest("shop")), null);
  const grid = await master.core.grids.get("default");
  const facts = nodeFacts({ node_id: "ENGINE:A" });
  await master.core.nodeLinks.join(grid, agentHello("node-a", { labels: ["az=z1"], facts }));
  await master.core.nodeLinks.join(grid, agentHello("node-b", { facts: nodeFacts({ node_id: "ENGINE:B" }) }));
  await master.core.nodeLinks.connect("default", "node-a", facts, "0.1.0");
  await master.core.nodeLinks.recordUsage("default", "node-a", {
    memory: { used: 1_024_000, cached: 0, buffers: 0, total: 4_096_000 },
    load: { "1m": 0.5, "5m": 0.25, "15m": 0.125 },
    filesystem: { name: "/dev/sda1", used: 30, total: 100 },
    cpu: { usage_pct: 12.34 },
  });
  // web 1 and 2 on node-a (connected, in az z1), db 1 on node-b (never connected).
  await master.core.nodeInstances.setDesired("default", "node-a", [desiredInstance(1), desiredInstance(2)]);
  await master.core.nodeInstances.setDesired("default", "node-b", [
    desiredInstance(1, { id: "default/shop/db/1", name: "shop.db-1", service: "db" }),
  ]);
  await master.core.nodeInstances.recordActual(
    "default",
    "node-a",
    [
      actualInstance(1, { container_id: "c1", ip: "172.17.0.2" }),
      actualInstance(2, { container_id: "c2", health: "critical" }),
    ],
    true,
  );

  const vms = await request("/deployments/shop/vms");
  assert.equal(vms.status, 200, vms.text);
  assert.deepEqual(vms.json(), [
    { agent_id: "default/node-b", cid: null, job: "db", index: 0, id: "default/shop/db/1" },
    { agent_id: "default/node-a", cid: "c1", job: "web", index: 0, id: "default/shop/web/1" },
    { agent_id: "default/node-a", cid: "c2", job: "web", index: 1, id: "default/shop/web/2" },
  ]);

  const task = await taskOf(await request("/deployments/shop/vms?format=full"));
  assert.equal(task.kind, "director.vms");
  assert.equal(task.deployment, "shop");
  for (let i = 0; i < 400 && (await master.core.operations.get(task.id)).state !== "done"; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await master.core.operations.get(task.id)).state, "done");
  const result = await request(`/tasks/${task.id}/output?type=result`);
  assert.equal(result.status, 200, result.text);
  assert.ok(result.text.endsWith("\n"));
  const details = result.text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    details.map((vm) => [vm.job_name, vm.index, vm.job_state, vm.az]),
    [
      ["db", 0, "unresponsive agent", null],
      ["web", 0, "running", "z1"],
      ["web", 1, "failing", "z1"],
    ],
  );
  const [, web1] = details;
  assert.deepEqual(web1, {
    agent_id: "default/node-a",
    vm_cid: "c1",
    disk_cid: null,
    ips: ["172.17.0.2"],
    dns: [],
    job_name: "web",
    index: 0,
    id: "default/shop/web/1",
    job_state: "running",
    az: "z1",
    bootstrap: true,
    vm_type: null,
    resource_pool: null,
    deployment: "shop",
    vitals: {
      cpu: { sys: "0.0", user: "12.3", wait: "0.0" },
      disk: { ephemeral: { percent: "30", inode_percent: "0" }, system: { percent: "30", inode_percent: "0" } },
      load: ["0.50", "0.25", "0.13"],
      mem: { kb: "1000", percent: "25" },
      swap: { kb: "0", percent: "0" },
    },
    processes: [{ name: "shop.web-1", state: "running" }],
    resurrection_paused: false,
  });
  assert.deepEqual(details[0]?.vitals, {}, "node-b has not sampled its usage");
  assert.deepEqual(details[0]?.processes, [], "db has no container yet");
});
