import assert from "node:assert/strict";
import { test } from "node:test";
import { dockerClientOptions } from "../../src/agent/docker-endpoint.ts";
import { InvalidDockerEndpointError } from "../../src/agent/invalid-docker-endpoint-error.ts";

test("reads unix socket and tcp endpoints", () => {
  assert.deepEqual(dockerClientOptions(), { socketPath: "/var/run/docker.sock" });
  assert.deepEqual(dockerClientOptions("unix:///run/user/1000/docker.sock"), {
    socketPath: "/run/user/1000/docker.sock",
  });
  assert.deepEqual(dockerClientOptions("tcp://127.0.0.1:2375"), { protocol: "http", host: "127.0.0.1", port: 2375 });
  assert.deepEqual(dockerClientOptions("tcp://[::1]:2375"), { protocol: "http", host: "::1", port: 2375 });
});

test("refuses anything else with the forms it takes", () => {
  for (const bad of ["/var/run/docker.sock", "unix://", "tcp://127.0.0.1", "https://host:2376", "npipe:////./pipe/x"]) {
    assert.throws(() => dockerClientOptions(bad), InvalidDockerEndpointError, bad);
  }
});
