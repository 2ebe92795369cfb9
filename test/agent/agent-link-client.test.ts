import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { AgentLinkClient, type LinkClientCredentials } from "../../src/agent/agent-link-client.ts";
import { LinkRefusedError } from "../../src/agent/link-refused-error.ts";
import { berthVersion } from "../../src/config/berth-version.ts";
import { LINK_CLOSE, type MasterMessage, type WelcomeMessage } from "../../src/protocol/link-messages.ts";
import { eventually } from "../support/consul-master.ts";
import { send } from "../support/http-client.ts";
import { actualInstance, desiredInstance, nodeFacts } from "../support/node-fixtures.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { makeTempDir } from "../support/temp-dir.ts";
import { startTestMaster, type TestMaster } from "../support/test-master.ts";
import { startTlsProxy } from "../support/tls-proxy.ts";

const FAST_BACKOFF = { initialMs: 50, maxMs: 200 };

interface ClientRun {
  readonly client: AgentLinkClient;
  readonly welcomes: WelcomeMessage[];
  readonly desired: MasterMessage[];
  /** How often the client dialled (it gathers a hello before each dial). */
  dials(): number;
}

function startClient(
  t: TestContext,
  masterUrl: string,
  gridToken: string,
  overrides: { name?: string; agentVersion?: string; now?: () => number; ca?: string } = {},
): ClientRun {
  const welcomes: WelcomeMessage[] = [];
  const desired: MasterMessage[] = [];
  let dials = 0;
  let credentials: LinkClientCredentials = { kind: "grid", token: gridToken };
  const client = new AgentLinkClient({
    masterUrl,
    agentVersion: overrides.agentVersion ?? berthVersion,
    now: overrides.now,
    ca: overrides.ca,
    backoff: FAST_BACKOFF,
    logger: pino({ level: "silent" }),
    credentials: () => credentials,
    hello: async () => {
      dials++;
      return { name: overrides.name ?? "one", labels: ["zone=a"], facts: nodeFacts() };
    },
    advice: (code, reason) => `advice for ${code}: ${reason}`,
    onWelcome: async (welcome) => {
      welcomes.push(welcome);
      if (welcome.node_token !== null) {
        credentials = { kind: "node", grid: welcome.node.grid, name: welcome.node.name, token: welcome.node_token };
      }
    },
    onMessage: (message) => desired.push(message),
  });
  t.after(() => client.close());
  client.start();
  return { client, welcomes, desired, dials: () => dials };
}

/** Polls until the condition holds (fails the test after `ms`). */
const waitFor = (condition: () => boolean | Promise<boolean>, ms = 5_000) =>
  eventually(
    async () => condition(),
    (holds) => holds,
    ms,
  );

async function connected(master: TestMaster, name = "one"): Promise<boolean> {
  const response = await send(master.url, `/v1/nodes/default/${name}`, { headers: master.auth });
  return response.status === 200 && (response.json() as { connected: boolean }).connected;
}

const gridTokenOf = async (master: TestMaster) => (await master.core.grids.get("default")).token;

describe("agent link client", () => {
  it("joins, hands over the snapshot and the changes, and carries reports back", async (t) => {
    const master = await startTestMaster(t);
    const run = startClient(t, master.url, await gridTokenOf(master));
    await waitFor(() => run.client.connected);
    assert.equal(run.welcomes[0]?.node.id, "default/one");
    assert.equal(typeof run.welcomes[0]?.node_token, "string");
    await waitFor(() => run.desired.length === 1);
    const snapshot = run.desired[0];
    assert.ok(snapshot?.type === "desired.snapshot", JSON.stringify(snapshot));
    assert.deepEqual(snapshot.instances, []);

    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    await waitFor(() => run.desired.length === 2);
    assert.equal(run.desired[1]?.type, "desired.change");

    assert.equal(run.client.send({ type: "instances.actual", complete: false, instances: [actualInstance(1)] }), true);
    await waitFor(async () => (await master.core.nodeInstances.actual("default", "one")).length === 1);
    assert.equal(await connected(master), true);
    assert.equal(run.dials(), 1);
  });

  it("stops at a refusal, with the advice, and does not dial again", async (t) => {
    const master = await startTestMaster(t);
    const token = await gridTokenOf(master);
    const cases: [Parameters<typeof startClient>[3], string, number][] = [
      [{}, "wrong-token", LINK_CLOSE.gridTokenRejected],
      [{ name: "old", agentVersion: "9.9.9" }, token, LINK_CLOSE.versionMismatch],
      [{ name: "skewed", now: () => Date.now() + 30_000 }, token, LINK_CLOSE.clockSkew],
    ];
    for (const [overrides, gridToken, code] of cases) {
      const run = startClient(t, master.url, gridToken, overrides);
      const error = await run.client.stopped.then(
        () => assert.fail("not refused"),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof LinkRefusedError);
      assert.equal(error.code, code);
      assert.match(error.message, new RegExp(`^advice for ${code}: `));
      await sleep(300);
      assert.equal(run.dials(), 1, "no second dial with refused credentials");
    }
  });

  it("dials again with backoff while the master is away, then rejoins with its node token", async (t) => {
    const dataDir = await makeTempDir(t);
    const first = await startTestMaster(t, dataDir);
    const port = new URL(first.url).port;
    const run = startClient(t, first.url, await gridTokenOf(first));
    await waitFor(() => run.client.connected);
    await first.close();
    await waitFor(() => !run.client.connected);
    await sleep(400);
    assert.ok(run.dials() >= 3, `only ${run.dials()} dials while the master was away`);

    const second = await startTestMaster(t, dataDir, { port: Number(port) });
    await waitFor(() => run.welcomes.length === 2 && run.client.connected, 10_000);
    assert.equal(run.welcomes[1]?.node_token, null, "rejoined, not joined again");
    await waitFor(() => connected(second));
  });

  it("notices a dead link on both ends and dials again", async (t) => {
    const master = await startTestMaster(t, undefined, { agentLink: { pingIntervalMs: 200 } });
    const proxy = await startTcpProxy(t, master.url);
    const run = startClient(t, proxy.url, await gridTokenOf(master));
    await waitFor(() => run.client.connected);
    assert.equal(run.welcomes[0]?.ping_interval_ms, 200);
    await waitFor(() => connected(master));

    const cut = Date.now();
    proxy.blackhole();
    // The master misses a pong within two intervals; the agent gives up after 2.5 silent intervals.
    await waitFor(async () => !(await connected(master)), 3_000);
    await waitFor(() => run.dials() >= 2, 3_000);
    assert.ok(Date.now() - cut < 3_000);
    await waitFor(() => run.welcomes.length === 2, 5_000);
    await waitFor(() => connected(master));
  });

  it("dials a wss:// master whose certificate chains to the CA it was given, and no other", async (t) => {
    const master = await startTestMaster(t);
    const proxy = await startTlsProxy(t, master.url);
    const gridToken = await gridTokenOf(master);
    const untrusting = startClient(t, proxy.url, gridToken, { name: "untrusting" });
    await waitFor(() => untrusting.dials() >= 3);
    assert.equal(untrusting.welcomes.length, 0, "a certificate Node's CAs do not know is refused");
    await untrusting.client.close();

    const trusting = startClient(t, proxy.url, gridToken, { name: "trusting", ca: proxy.ca });
    await waitFor(() => trusting.client.connected);
    assert.equal(trusting.welcomes[0]?.node.id, "default/trusting");
    assert.equal(await connected(master, "untrusting"), false);
  });
});
