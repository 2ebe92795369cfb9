import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnBerth } from "../support/agent-process.ts";
import { send } from "../support/http-client.ts";
import { makeTempDir } from "../support/temp-dir.ts";

test("berth agent --help lists its flags and their variables", async (t) => {
  const { code, stdout } = await spawnBerth(t, ["agent", "--help"]).exit();
  assert.equal(code, 0);
  for (const text of ["--master", "--grid-token", "--name", "--labels", "--docker", "--data-dir", "BERTH_GRID_TOKEN"]) {
    assert.ok(stdout.includes(text), text);
  }
});

test("an agent that cannot start says why: bad settings exit 2, an unreachable engine 1", async (t) => {
  const dataDir = await makeTempDir(t);
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [["agent", "--data-dir", dataDir], {}, 2, /--master \(or BERTH_MASTER_URL\) is required/],
    [["agent", "--master", "http://127.0.0.1:1", "--data-dir", dataDir, "--labels", "x"], {}, 2, /--labels/],
    [
      ["agent", "--master", "http://127.0.0.1:1", "--data-dir", dataDir],
      {},
      2,
      /--grid-token \(or BERTH_GRID_TOKEN\) is required: this agent has not joined yet/,
    ],
    [
      ["agent", "--master", "http://127.0.0.1:1", "--data-dir", dataDir],
      { BERTH_GRID_TOKEN: "t", BERTH_DOCKER_HOST: "unix:///nonexistent/docker.sock" },
      1,
      /the Docker engine at unix:\/\/\/nonexistent\/docker\.sock is unreachable/,
    ],
  ];
  for (const [args, env, expected, message] of cases) {
    const { code, stderr } = await spawnBerth(t, args, env).exit();
    assert.equal(code, expected, stderr);
    assert.match(stderr, message);
  }
});

test("berth dev without a Docker engine says how to get one and serves anyway", async (t) => {
  const cwd = await makeTempDir(t);
  const dev = spawnBerth(t, ["dev", "--data-dir", cwd], {
    BERTH_PORT: "0",
    BERTH_LOG_LEVEL: "silent",
    BERTH_DOCKER_HOST: "unix:///nonexistent/docker.sock",
  });
  const deadline = Date.now() + 15_000;
  while (!/apt-get install docker\.io/.test(dev.output().stdout)) {
    if (Date.now() > deadline) assert.fail(`no banner: ${JSON.stringify(dev.output())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { stdout } = dev.output();
  assert.match(stdout, /No local agent: no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock/);
  const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
  assert.ok(url);
  assert.equal((await send(url, "/readyz")).status, 200);
  dev.child.kill("SIGINT");
  assert.equal((await dev.exit()).code, 0);
});
