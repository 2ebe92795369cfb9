import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PullCredentialsClient } from "../../src/agent/pull-credentials-client.ts";
import type { AgentMessage } from "../../src/protocol/link-messages.ts";

const LOGIN = { username: "bot", password: "secret", serveraddress: "registry.example.com" };

function linked(up = true, timeoutMs?: number) {
  const sent: AgentMessage[] = [];
  const client = new PullCredentialsClient((message) => {
    if (up) sent.push(message);
    return up;
  }, timeoutMs);
  return { client, sent };
}

describe("pull credentials client", () => {
  it("asks the master per pull and hands each answer to the pull that asked", async () => {
    const { client, sent } = linked();
    const first = client.request("registry.example.com/app:1");
    const second = client.request("busybox:latest");
    assert.deepEqual(sent, [
      { type: "registry.credentials.request", request_id: "1", image: "registry.example.com/app:1" },
      { type: "registry.credentials.request", request_id: "2", image: "busybox:latest" },
    ]);
    client.answer("2", null);
    client.answer("1", LOGIN);
    client.answer("1", null); // a repeated or unknown answer changes nothing
    assert.deepEqual(await first, LOGIN);
    assert.equal(await second, null);
  });

  it("fails the pull when no answer can come: the link is down, goes down, or the master is silent", async () => {
    await assert.rejects(linked(false).client.request("app:1"), /cannot pull app:1: the link to the master is down/);

    const { client } = linked();
    const pending = client.request("app:2");
    client.linkDown();
    await assert.rejects(pending, /the link to the master went down/);

    await assert.rejects(linked(true, 20).client.request("app:3"), /the master did not answer in time/);
  });
});
