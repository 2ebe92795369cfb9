import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const probe = join(import.meta.dirname, "require-docker-probe.ts");

/** Runs the probe against an engine that is not there; resolves with its exit code and output. */
async function probeWithoutEngine(env: Record<string, string>): Promise<{ code: number; output: string }> {
  try {
    // Without NODE_TEST_CONTEXT the child runs its test itself instead of reporting to this runner.
    const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
    const { stdout, stderr } = await run(process.execPath, ["--test-reporter=tap", probe], {
      env: { ...parentEnv, DOCKER_HOST: "unix:///nonexistent/docker.sock", ...env },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

test("an unreachable engine skips Docker tests loudly", async () => {
  const { code, output } = await probeWithoutEngine({ BERTH_REQUIRE_DOCKER: "" });
  assert.equal(code, 0, output);
  assert.match(
    output,
    /\*\*\* SKIPPED Docker-backed test "needs Docker": Docker engine unreachable at unix:\/\/\/nonexistent/,
  );
  assert.match(output, /# skipped 1/);
});

test("with BERTH_REQUIRE_DOCKER=1 an unreachable engine fails them", async () => {
  const { code, output } = await probeWithoutEngine({ BERTH_REQUIRE_DOCKER: "1" });
  assert.equal(code, 1, output);
  assert.match(output, /unreachable at unix:\/\/\/nonexistent.*BERTH_REQUIRE_DOCKER=1/);
  assert.match(output, /# fail 1/);
});
