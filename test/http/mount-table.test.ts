import assert from "node:assert/strict";
import { test } from "node:test";
import type { Face } from "../../src/http/face.ts";
import { isUnder, MountTable } from "../../src/http/mount-table.ts";

const face = (name: string, mounts: string[]): Face => ({
  name,
  mounts,
  renderError: () => ({ contentType: "text/plain", body: "" }),
  register: () => {},
});

test("mounts match whole path segments", () => {
  assert.ok(isUnder("/v1/kv", "/v1/kv"));
  assert.ok(isUnder("/v1/kv/a/b", "/v1/kv"));
  assert.ok(!isUnder("/v1/kvx", "/v1/kv"));
  assert.ok(!isUnder("/v1", "/v1/kv"));
});

test("a path finds the face that owns it, or none", () => {
  const native = face("native", ["/v1/services", "/cb"]);
  const network = face("network", ["/services"]);
  const table = new MountTable([native, network]);
  assert.equal(table.faceFor("/v1/services/g/s"), native);
  assert.equal(table.faceFor("/services/abc"), network);
  assert.equal(table.faceFor("/cb"), native);
  assert.equal(table.faceFor("/cbx"), undefined);
  assert.deepEqual(
    table.list().map((mount) => mount.prefix),
    ["/v1/services", "/cb", "/services"],
  );
});

test("overlapping mounts, malformed mounts and duplicate names are refused", () => {
  assert.throws(() => new MountTable([face("a", ["/v1/kv"]), face("b", ["/v1/kv/x"])]), /overlaps/);
  assert.throws(() => new MountTable([face("a", ["/v1/kv/x"]), face("b", ["/v1/kv"])]), /overlaps/);
  assert.throws(() => new MountTable([face("a", ["/api"]), face("a", ["/other"])]), /two faces/);
  for (const bad of ["", "/", "api", "/api/", "/api?x"])
    assert.throws(() => new MountTable([face("a", [bad])]), /bad mount/);
});
