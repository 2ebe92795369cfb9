import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { agentHello, desiredInstance } from "../../support/node-fixtures.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

interface NodeBody {
  readonly id: string;
  readonly name: string;
  readonly labels: string[];
  readonly connected: boolean;
  readonly grid: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** The spec's node fields (its example), all present in every node Berth shows. */
const SPEC_FIELDS = [
  "id",
  "node_id",
  "name",
  "connected",
  "created_at",
  "updated_at",
  "last_seen_at",
  "node_number",
  "initial_node",
  "agent_version",
  "docker_version",
  "os",
  "kernel_version",
  "driver",
  "network_drivers",
  "volume_drivers",
  "cpus",
  "mem_total",
  "mem_limit",
  "public_ip",
  "private_ip",
  "engine_root_dir",
  "labels",
  "peer_ips",
  "resource_usage",
  "grid",
  // Berth's own: active or drain.
  "availability",
];

describe("native nodes", () => {
  it("lists, shows, relabels and deletes nodes in the spec's shape", async (t) => {
    const master = await startTestMaster(t);
    const grid = await master.core.grids.get("default");
    await master.core.nodeLinks.join(grid, agentHello("misty-sun-87", { labels: ["region=eu-west-1"] }));

    const listed = await send(master.url, "/v1/grids/default/nodes", { headers: master.auth });
    assert.equal(listed.status, 200, listed.text);
    const { nodes } = listed.json() as { nodes: NodeBody[] };
    assert.equal(nodes.length, 1);
    const [node] = nodes as [NodeBody];
    assert.deepEqual(Object.keys(node).sort(), [...SPEC_FIELDS].sort());
    assert.equal(node.id, "default/misty-sun-87");
    assert.equal(node.connected, false);
    assert.deepEqual(node.grid, {
      id: "default",
      name: "default",
      initial_size: 1,
      stats: { statsd: null },
      trusted_subnets: [],
    });

    const shown = await send(master.url, "/v1/nodes/default/misty-sun-87", { headers: master.auth });
    assert.deepEqual(shown.json(), node);

    const relabelled = await sendJson(
      master.url,
      "/v1/nodes/default/misty-sun-87",
      "PUT",
      { labels: ["foo=bar", "bar=baz"] },
      master.auth,
    );
    assert.equal(relabelled.status, 200, relabelled.text);
    assert.deepEqual((relabelled.json() as NodeBody).labels, ["foo=bar", "bar=baz"]);

    await master.core.nodeInstances.setDesired("default", "misty-sun-87", [desiredInstance(1)]);
    const removed = await send(master.url, "/v1/nodes/default/misty-sun-87", {
      method: "DELETE",
      headers: master.auth,
    });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.json(), {});
    nativeError(await send(master.url, "/v1/nodes/default/misty-sun-87", { headers: master.auth }), 404);
    assert.deepEqual((await master.core.nodeInstances.snapshot("default", "misty-sun-87")).instances, []);
  });

  it("answers 404 for unknown grids and nodes and 422 with a field map for bad labels", async (t) => {
    const master = await startTestMaster(t);
    await master.core.nodeLinks.join(await master.core.grids.get("default"), agentHello("one"));
    nativeError(await send(master.url, "/v1/grids/nope/nodes", { headers: master.auth }), 404);
    nativeError(await send(master.url, "/v1/nodes/nope/one", { headers: master.auth }), 404);
    nativeError(await send(master.url, "/v1/nodes/default/two", { headers: master.auth }), 404);
    nativeError(await sendJson(master.url, "/v1/nodes/default/two", "PUT", { labels: [] }, master.auth), 404);
    nativeError(await send(master.url, "/v1/nodes/default/two", { method: "DELETE", headers: master.auth }), 404);

    const bad = await sendJson(
      master.url,
      "/v1/nodes/default/one",
      "PUT",
      { labels: ["ok=1", "no-equals"] },
      master.auth,
    );
    nativeError(bad, 422);
    assert.deepEqual(Object.keys((bad.json() as { error: Record<string, string> }).error), ["labels.1"]);
    nativeError(await sendJson(master.url, "/v1/nodes/default/one", "PUT", "labels", master.auth), 422);
    const broken = await send(master.url, "/v1/nodes/default/one", {
      method: "PUT",
      headers: { ...master.auth, "content-type": "application/json" },
      body: "{not json",
    });
    nativeError(broken, 400);
    const unchanged = await send(master.url, "/v1/nodes/default/one", { headers: master.auth });
    assert.deepEqual((unchanged.json() as NodeBody).labels, []);
  });

  it("lets members read, grid admins change and delete, and nobody else in", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "ops");
    await master.core.nodeLinks.join(await master.core.grids.get("ops"), agentHello("one"));
    const get = (headers: Record<string, string>) => send(master.url, "/v1/nodes/ops/one", { headers });
    const list = (headers: Record<string, string>) => send(master.url, "/v1/grids/ops/nodes", { headers });
    const put = (headers: Record<string, string>) =>
      sendJson(master.url, "/v1/nodes/ops/one", "PUT", { labels: ["a=b"] }, headers);
    const remove = (headers: Record<string, string>) =>
      send(master.url, "/v1/nodes/ops/one", { method: "DELETE", headers });

    for (const headers of [callers.admin, callers.gridAdmin, callers.member]) {
      assert.equal((await get(headers)).status, 200);
      assert.equal((await list(headers)).status, 200);
    }
    nativeError(await get(callers.outsider), 403);
    nativeError(await list(callers.outsider), 403);
    nativeError(await put(callers.member), 403);
    nativeError(await remove(callers.member), 403);
    nativeError(await put(callers.outsider), 403);
    for (const request of [get, list, put, remove]) nativeError(await request(callers.anonymous), 401);
    assert.equal((await put(callers.gridAdmin)).status, 200);
    assert.equal((await remove(callers.gridAdmin)).status, 200);
  });
});
