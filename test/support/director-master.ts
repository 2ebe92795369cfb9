import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Principal } from "../../src/core/auth/principal.ts";
import type { OperationRecord } from "../../src/core/operations/operation-record.ts";
import { send } from "./http-client.ts";
import { startTestMaster, TEST_ADMIN_PASSWORD } from "./test-master.ts";

/** The admin's Director credentials: basic auth, as the bosh CLI sends them. */
export const directorAuth = {
  authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString("base64")}`,
};

export const lines = (...rows: string[]): string => `${rows.join("\n")}\n`;

/** A manifest with two groups: web (2, from the stemcell) links to db (1, its own image, a persistent disk). */
export const manifest = (name: string, version = "1.2.0") =>
  lines(
    `name: ${name}`,
    "releases:",
    "- name: shop",
    `  version: ${version}`,
    "stemcells:",
    "- {alias: default, os: berth-test/busybox, version: latest}",
    "update: {canaries: 1, max_in_flight: 1, canary_watch_time: 1000-30000, update_watch_time: 1000-30000}",
    "instance_groups:",
    "- name: web",
    "  instances: 2",
    "  azs: [z1]",
    "  stemcell: default",
    "  vm_type: default",
    "  networks: [{name: default}]",
    "  jobs: [{name: web, release: shop, properties: {cmd: httpd -f -p 8080, links: [db]}}]",
    "- name: db",
    "  instances: 1",
    "  persistent_disk: 1024",
    "  jobs: [{name: db, release: shop}]",
    "  properties: {image: 'berth-test/busybox:1.36', cmd: sleep 3600}",
  );

/** A test master with Director requests as the admin (redirects not followed) and the admin as a core caller. */
export async function directorMaster(t: TestContext) {
  const master = await startTestMaster(t);
  const admin: Principal = { user: await master.core.users.get("admin"), method: "password", scopes: [] };
  const request = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    send(master.url, path, { ...init, headers: { ...directorAuth, ...init.headers }, redirect: "manual" });
  const postManifest = (text: string, query = "") =>
    request(`/deployments${query}`, { method: "POST", headers: { "content-type": "text/yaml" }, body: text });
  /** The operation a 302 points at, after checking the redirect's shape. */
  const taskOf = async (response: Awaited<ReturnType<typeof request>>): Promise<OperationRecord> => {
    assert.equal(response.status, 302, response.text);
    const location = response.headers.get("location") ?? "";
    const match = /^\/tasks\/(\d+)$/.exec(location);
    assert.ok(match, `Location is ${location}`);
    const task = await request(location);
    assert.equal(task.status, 200, task.text);
    assert.equal((task.json() as { id: number }).id, Number(match[1]));
    return master.core.operations.get(Number(match[1]));
  };
  return { master, admin, request, postManifest, taskOf };
}
