import assert from "node:assert/strict";
import { test } from "node:test";
import { agentDefaults, resolveAgentSettings } from "../../src/config/agent-settings.ts";
import { ConfigError } from "../../src/config/config-error.ts";

const defaults = { ...agentDefaults(), name: "host-1" };

test("flags over environment over defaults; the grid token and labels are optional", () => {
  const settings = resolveAgentSettings({ masterUrl: "http://m:8500" }, {}, defaults);
  assert.deepEqual(settings, {
    masterUrl: "http://m:8500",
    masterCa: undefined,
    gridToken: undefined,
    name: "host-1",
    labels: [],
    docker: "unix:///var/run/docker.sock",
    dataDir: "/var/lib/berth-agent",
    logLevel: "info",
  });
  const env = {
    BERTH_MASTER_URL: "https://m.example.com",
    BERTH_GRID_TOKEN: "tok",
    BERTH_NODE_NAME: "from-env",
    BERTH_NODE_LABELS: "region=eu, az=a,",
    BERTH_DOCKER_HOST: "tcp://127.0.0.1:2375",
    BERTH_AGENT_DATA_DIR: "relative/dir",
    BERTH_LOG_LEVEL: "debug",
    BERTH_MASTER_CA: "certs/ca.pem",
  };
  const fromEnv = resolveAgentSettings({}, env, defaults);
  assert.equal(fromEnv.masterUrl, "https://m.example.com");
  assert.equal(fromEnv.gridToken, "tok");
  assert.equal(fromEnv.name, "from-env");
  assert.deepEqual(fromEnv.labels, ["region=eu", "az=a"]);
  assert.equal(fromEnv.docker, "tcp://127.0.0.1:2375");
  assert.ok(fromEnv.dataDir.endsWith("/relative/dir") && fromEnv.dataDir.startsWith("/"));
  assert.ok(fromEnv.masterCa?.endsWith("/certs/ca.pem") && fromEnv.masterCa.startsWith("/"));
  const flagged = resolveAgentSettings({ name: "from-flag", labels: "x=1" }, env, defaults);
  assert.equal(flagged.name, "from-flag");
  assert.deepEqual(flagged.labels, ["x=1"]);
});

test("bad values are ConfigErrors naming the flag or variable", () => {
  const cases: [Record<string, string>, Record<string, string>, RegExp][] = [
    [{}, {}, /--master \(or BERTH_MASTER_URL\) is required/],
    [{ masterUrl: "m:8500" }, {}, /invalid --master "m:8500": must be the master's URL/],
    [{ masterUrl: "ftp://m" }, {}, /--master/],
    [{ masterUrl: "http://m", name: "bad name" }, {}, /invalid --name "bad name"/],
    [
      { masterUrl: "http://m" },
      { BERTH_NODE_LABELS: "a=1,nokey" },
      /invalid BERTH_NODE_LABELS .*nokey: must be key=value/,
    ],
    [{ masterUrl: "http://m", labels: "a=1,a=2" }, {}, /repeats the key a/],
    [{ masterUrl: "http://m", docker: "/var/run/docker.sock" }, {}, /invalid --docker .*unix:\/\/\//],
    [{ masterUrl: "http://m", gridToken: " " }, {}, /invalid --grid-token/],
    [{ masterUrl: "http://m", logLevel: "loud" }, {}, /invalid --log-level/],
  ];
  for (const [flags, env, message] of cases) {
    assert.throws(
      () => resolveAgentSettings(flags, env, defaults),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, message);
        return true;
      },
    );
  }
});
