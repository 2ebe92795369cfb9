import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { agentHello } from "../../support/node-fixtures.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

describe("native node availability", () => {
  it("shows active by default, drains and reactivates through PUT, and answers 422 naming the field otherwise", async (t) => {
    const master = await startTestMaster(t);
    await master.core.nodeLinks.join(await master.core.grids.get("default"), agentHello("one", { labels: ["a=1"] }));
    const path = "/v1/nodes/default/one";
    const shown = await send(master.url, path, { headers: master.auth });
    assert.equal((shown.json() as { availability: string }).availability, "active");

    const drained = await sendJson(master.url, path, "PUT", { availability: "drain" }, master.auth);
    assert.equal(drained.status, 200, drained.text);
    const body = drained.json() as { availability: string; labels: string[] };
    assert.equal(body.availability, "drain");
    assert.deepEqual(body.labels, ["a=1"], "labels stay when only availability is given");
    const listed = await send(master.url, "/v1/grids/default/nodes", { headers: master.auth });
    assert.equal((listed.json() as { nodes: { availability: string }[] }).nodes[0]?.availability, "drain");

    for (const availability of ["paused", "", 1, null]) {
      const bad = await sendJson(master.url, path, "PUT", { availability }, master.auth);
      nativeError(bad, 422);
      assert.deepEqual(Object.keys((bad.json() as { error: Record<string, string> }).error), ["availability"]);
    }
    const still = await send(master.url, path, { headers: master.auth });
    assert.equal((still.json() as { availability: string }).availability, "drain");

    const active = await sendJson(master.url, path, "PUT", { availability: "active", labels: [] }, master.auth);
    assert.equal(active.status, 200, active.text);
    assert.equal((active.json() as { availability: string }).availability, "active");
    assert.deepEqual((active.json() as { labels: string[] }).labels, []);
  });
});
