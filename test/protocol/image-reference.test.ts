import assert from "node:assert/strict";
import { test } from "node:test";
import {
  imageRegistryHost,
  normalizeImageReference,
  parseImageReference,
  pullTarget,
} from "../../src/protocol/image-reference.ts";
import { InvalidImageReferenceError } from "../../src/protocol/invalid-image-reference-error.ts";

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

test("names the registry an image comes from, the way Docker does", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["busybox", "docker.io"],
    ["busybox:1.36", "docker.io"],
    ["busybox@sha256:0123456789abcdef0123456789abcdef", "docker.io"],
    ["library/redis:7", "docker.io"],
    ["kontena/agent:1.0", "docker.io"],
    ["docker.io/library/busybox", "docker.io"],
    ["index.docker.io/library/busybox", "docker.io"],
    ["registry-1.docker.io/library/busybox", "docker.io"],
    ["localhost/app", "localhost"],
    ["localhost:5000/x", "localhost:5000"],
    ["localhost:5000/team/app:1.0", "localhost:5000"],
    ["quay.io/coreos/etcd:v3", "quay.io"],
    ["Registry.Example.com:8443/a", "registry.example.com:8443"],
    ["MyHost/app", "myhost"],
    ["10.0.0.1:5000/app", "10.0.0.1:5000"],
  ];
  for (const [image, host] of cases) assert.equal(imageRegistryHost(image), host, image);
  assert.throws(() => imageRegistryHost("quay.io/UPPER"), InvalidImageReferenceError);
});

test("refuses what Docker would refuse", () => {
  for (const bad of ["", "team/UPPER", "app:", "a b", "app:bad tag", "/app", "app//x", `app@sha256:short`]) {
    assert.throws(() => parseImageReference(bad), InvalidImageReferenceError, bad);
  }
});
