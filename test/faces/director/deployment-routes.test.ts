import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBoshManifest } from "../../../src/core/stacks/bosh-manifest.ts";
import { directorAuth, directorMaster, lines, manifest } from "../../support/director-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";

const directorError = errorShapeOf("director");

test("POST /deployments applies the manifest as a stack and redirects to its deploy task", async (t) => {
  const { master, admin, request, postManifest, taskOf } = await directorMaster(t);
  const text = manifest("shop");
  const deploy = await taskOf(await postManifest(text));
  assert.equal(deploy.kind, "stack.deploy");
  assert.equal(deploy.deployment, "shop");
  assert.equal(deploy.grid, "default");
  assert.equal(deploy.user, "admin");
  assert.deepEqual(deploy.params, { stack: "default/shop" });

  const stack = await master.core.stacks.get(admin, "default", "shop");
  assert.equal(stack.stack, "director/shop");
  assert.equal(stack.version, "1.2.0");
  assert.equal(stack.source, text);
  assert.deepEqual(stack.services, ["db", "web"]);
  const [db, web] = await master.core.stacks.services(stack);
  assert.equal(db?.spec.stateful, true);
  assert.equal(web?.spec.instances, 2);
  assert.deepEqual(web?.spec.affinity, ["label==az=z1"]);
  assert.equal(web?.spec.deploy_opts.min_health, 0.5);

  // The manifest comes back as it was sent.
  const got = await request("/deployments/shop");
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json(), { manifest: text });

  const listed = await request("/deployments");
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.json(), [
    {
      name: "shop",
      releases: [{ name: "shop", version: "1.2.0" }],
      stemcells: [
        { name: "berth-test/busybox", version: "1.36" },
        { name: "berth-test/busybox", version: "latest" },
      ],
      cloud_config: "none",
    },
  ]);

  // A second POST updates the stack in place and deploys again.
  const again = await taskOf(await postManifest(manifest("shop", "1.3.0")));
  assert.equal(again.kind, "stack.deploy");
  assert.ok(again.id > deploy.id);
  assert.equal((await master.core.stacks.get(admin, "default", "shop")).version, "1.3.0");

  const removal = await taskOf(await request("/deployments/shop", { method: "DELETE" }));
  assert.equal(removal.kind, "stack.remove");
  assert.equal(removal.deployment, "shop");
  assert.deepEqual(removal.params, { stack: "default/shop" });
  const tasks = (await request("/tasks?deployment=shop")).json() as { id: number }[];
  assert.deepEqual(
    tasks.map((task) => task.id),
    [removal.id, again.id, deploy.id],
  );
});

test("a broken manifest is a 400 in the Director's shape naming the problem, and nothing is written", async (t) => {
  const { master, admin, request, postManifest } = await directorMaster(t);
  const broken = manifest("shop").replace("  instances: 1\n", "  instances: one\n");
  const description = directorError(await postManifest(broken), 400);
  assert.match(description, /instance_groups\[1\]\.instances \(line 17\): must be an integer/);

  assert.match(directorError(await postManifest("name: [unclosed\n"), 400), /manifest is invalid/);
  assert.match(directorError(await postManifest(manifest("shop").replace("releases:", "relaeses:")), 400), /relaeses/);
  // A link to another stack's service that does not exist is the stack's problem, still a 400.
  assert.match(
    directorError(await postManifest(manifest("shop").replace("links: [db]", "links: [other/db]")), 400),
    /links to service other\/db, which does not exist/,
  );
  assert.match(directorError(await postManifest(""), 400), /empty/);
  // Only text/yaml is a manifest.
  directorError(await sendJson(master.url, "/deployments", "POST", { name: "shop" }, directorAuth), 415);
  directorError(
    await request("/deployments", { method: "POST", headers: { "content-type": "text/plain" }, body: "name: x" }),
    415,
  );

  assert.deepEqual(await master.core.stacks.list(admin, "default"), []);
  assert.deepEqual((await request("/deployments")).json(), []);
  assert.deepEqual((await request("/tasks")).json(), []);
});

test("unknown deployments and grids are the Director's 404, no credentials a 401, another grid's user a 403", async (t) => {
  const { master, request } = await directorMaster(t);
  assert.match(directorError(await request("/deployments/nope"), 404), /nope/);
  directorError(await request("/deployments/nope", { method: "DELETE" }), 404);
  directorError(await request("/deployments/nope/vms"), 404);
  directorError(await request("/deployments?grid=elsewhere"), 404);
  assert.match(directorError(await request("/deployments/nope/vms?format=brief"), 400), /format/);
  assert.equal((await send(master.url, "/deployments")).status, 401);
  // A user outside the grid sees none of its deployments.
  await master.core.users.create({ username: "bob", password: "correct horse battery", roles: [] });
  const bob = { authorization: `Basic ${Buffer.from("bob:correct horse battery").toString("base64")}` };
  assert.match(directorError(await request("/deployments", { headers: bob }), 403), /not a member of grid default/);
  directorError(
    await request("/deployments", {
      method: "POST",
      headers: { ...bob, "content-type": "text/yaml" },
      body: manifest("x"),
    }),
    403,
  );
  assert.equal((await send(master.url, "/stemcells")).status, 401);
});

test("a stack made elsewhere shows as an equivalent manifest", async (t) => {
  const { master, admin, request } = await directorMaster(t);
  await master.core.stacks.createFromFile(
    admin,
    "default",
    lines(
      "stack: acme/blog",
      "version: 2.0.0",
      "services:",
      "  app:",
      "    image: berth-test/busybox:latest",
      "    command: httpd -f",
      "    instances: 4",
      "    deploy: {min_health: 0.5}",
      '    ports: ["8080:80"]',
    ),
  );
  const { manifest: text } = (await request("/deployments/blog")).json() as { manifest: string };
  const definition = parseBoshManifest(text);
  assert.equal(definition.name, "blog");
  assert.equal(definition.stack, "acme/blog");
  assert.equal(definition.version, "2.0.0");
  const [blogStack] = await master.core.stacks.list(admin, "default");
  assert.ok(blogStack);
  const [app] = await master.core.stacks.services(blogStack);
  assert.deepEqual(definition.services, [app?.spec]);
});
