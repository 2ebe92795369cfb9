import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeImageReference, parseImageReference, pullTarget } from "../../src/agent/image-reference.ts";
import { InvalidImageReferenceError } from "../../src/agent/invalid-image-reference-error.ts";

const digest = `sha256:${"a".repeat(64)}`;

test("splits references the way Docker reads them", () => {
  assert.deepEqual(parseImageReference("busybox"), { domain: null, path: "busybox", tag: null, digest: null });
  assert.deepEqual(parseImageReference("library/redis:7"), {
    domain: null,
    path: "library/redis",
    tag: "7",
    digest: null,
  });
  assert.deepEqual(parseImageReference("localhost/app"), { domain: "localhost", path: "app", tag: null, digest: null });
  assert.deepEqual(parseImageReference("127.0.0.1:5000/team/app:1.2.3"), {
    domain: "127.0.0.1:5000",
    path: "team/app",
    tag: "1.2.3",
    digest: null,
  });
  assert.deepEqual(parseImageReference(`registry.example.com/app@${digest}`), {
    domain: "registry.example.com",
    path: "app",
    tag: null,
    digest,
  });
  assert.deepEqual(parseImageReference(`app:1@${digest}`), { domain: null, path: "app", tag: "1", digest });
});

test("normalizes to the name Docker stores locally", () => {
  assert.equal(normalizeImageReference("busybox"), "busybox:latest");
  assert.equal(normalizeImageReference("localhost:5000/app"), "localhost:5000/app:latest");
  assert.equal(normalizeImageReference("app:2"), "app:2");
  assert.equal(normalizeImageReference(`app@${digest}`), `app@${digest}`);
});

test("a pull asks for the repository and its tag or digest", () => {
  assert.deepEqual(pullTarget("127.0.0.1:5000/team/app"), { repository: "127.0.0.1:5000/team/app", tag: "latest" });
  assert.deepEqual(pullTarget("redis:7"), { repository: "redis", tag: "7" });
  assert.deepEqual(pullTarget(`redis:7@${digest}`), { repository: "redis", tag: digest });
});

test("refuses what Docker would refuse", () => {
  for (const bad of ["", "team/UPPER", "app:", "a b", "app:bad tag", "/app", "app//x", `app@sha256:short`]) {
    assert.throws(() => parseImageReference(bad), InvalidImageReferenceError, bad);
  }
});
