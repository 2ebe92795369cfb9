import assert from "node:assert/strict";
import { test } from "node:test";
import { EVENT_BUFFER_SIZE, EventService, type FireRequest } from "../../../src/core/consul/event-service.ts";
import { BadRequestError } from "../../../src/core/errors/bad-request-error.ts";
import { openTestStore } from "../../support/test-store.ts";

const fire = (name: string, extra: Partial<FireRequest> = {}): FireRequest => ({
  name,
  payload: undefined,
  nodeFilter: "",
  serviceFilter: "",
  tagFilter: "",
  ...extra,
});

test("fired events are listed oldest first with Lamport times, base64 payloads and their filters", async (t) => {
  const events = new EventService(await openTestStore(t));
  const first = await events.fire("default", fire("deploy", { payload: Buffer.from("v1"), nodeFilter: "web.*" }));
  assert.match(first.id, /^[0-9a-f-]{36}$/);
  await events.fire("default", fire("restart"));
  const listed = await events.list("default");
  assert.deepEqual(
    listed.value.map((event) => [event.name, event.ltime, event.payload, event.nodeFilter, event.version]),
    [
      ["deploy", 1, Buffer.from("v1").toString("base64"), "web.*", 1],
      ["restart", 2, null, "", 1],
    ],
  );
  const byName = await events.list("default", "deploy");
  assert.deepEqual(
    byName.value.map((event) => event.id),
    [first.id],
  );
  assert.ok(byName.index < listed.index, "the index is the newest matching event's");
  assert.equal((await events.list("default", "none")).index, 0);
  assert.deepEqual((await events.list("elsewhere")).value, [], "each datacenter has its own events");
});

test("only the last 256 events are kept", async (t) => {
  const events = new EventService(await openTestStore(t));
  for (let i = 0; i < EVENT_BUFFER_SIZE + 4; i++) await events.fire("default", fire(`e${i}`));
  const { value } = await events.list("default");
  assert.equal(value.length, EVENT_BUFFER_SIZE);
  assert.equal(value[0]?.name, "e4");
  assert.equal(value.at(-1)?.ltime, EVENT_BUFFER_SIZE + 4);
});

test("bad events are refused with Consul's messages", async (t) => {
  const events = new EventService(await openTestStore(t));
  const refused = (request: FireRequest, message: RegExp) =>
    assert.rejects(
      events.fire("default", request),
      (error) => error instanceof BadRequestError && message.test(error.message),
    );
  await refused(fire(""), /^User event missing name$/);
  await refused(fire("x", { tagFilter: "v1" }), /^Cannot provide tag filter without service filter$/);
  await refused(fire("x", { nodeFilter: "(" }), /^Invalid node filter: /);
  await refused(fire("x", { payload: Buffer.alloc(10 * 1024) }), /exceeds the limit/);
  assert.deepEqual((await events.list("default")).value, []);
});
