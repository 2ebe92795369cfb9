import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageRegistryHost } from "../../../src/core/registries/image-registry-host.ts";

describe("image registry host", () => {
  it("reads the registry the way Docker does", () => {
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
  });
});
