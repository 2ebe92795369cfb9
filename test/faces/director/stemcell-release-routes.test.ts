import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBoshManifest } from "../../../src/core/stacks/bosh-manifest.ts";
import { directorMaster, lines, manifest } from "../../support/director-master.ts";

test("stemcells are the images stacks run, releases the stacks' names and versions", async (t) => {
  const { master, admin, request } = await directorMaster(t);
  await master.core.stacks.apply(admin, "default", parseBoshManifest(manifest("shop")), null);
  await master.core.stacks.apply(admin, "default", parseBoshManifest(manifest("shop-eu", "1.3.0")), null);
  await master.core.stacks.createFromFile(
    admin,
    "default",
    lines("stack: acme/blog", "version: 2.0.0", "services:", "  app: {image: 'registry:5000/blog'}"),
  );

  const stemcells = await request("/stemcells");
  assert.equal(stemcells.status, 200, stemcells.text);
  assert.deepEqual(stemcells.json(), [
    {
      name: "berth-test/busybox",
      operating_system: "berth-test/busybox",
      version: "1.36",
      cid: "berth-test/busybox:1.36",
      deployments: [{ name: "shop" }, { name: "shop-eu" }],
    },
    {
      name: "berth-test/busybox",
      operating_system: "berth-test/busybox",
      version: "latest",
      cid: "berth-test/busybox:latest",
      deployments: [{ name: "shop" }, { name: "shop-eu" }],
    },
    {
      name: "registry:5000/blog",
      operating_system: "registry:5000/blog",
      version: "latest",
      cid: "registry:5000/blog:latest",
      deployments: [{ name: "blog" }],
    },
  ]);

  const releases = await request("/releases");
  assert.equal(releases.status, 200, releases.text);
  const version = (number: string, jobs: string[]) => ({
    version: number,
    commit_hash: "",
    uncommitted_changes: false,
    currently_deployed: false,
    job_names: jobs,
  });
  assert.deepEqual(releases.json(), [
    { name: "acme/blog", release_versions: [version("2.0.0", ["app"])] },
    { name: "shop", release_versions: [version("1.2.0", ["db", "web"]), version("1.3.0", ["db", "web"])] },
  ]);
});
