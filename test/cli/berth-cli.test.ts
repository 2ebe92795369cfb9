import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { send, sendJson } from "../support/http-client.ts";
import { makeTempDir } from "../support/temp-dir.ts";

const BERTH = fileURLToPath(new URL("../../bin/berth.js", import.meta.url));

/** The environment without any BERTH_ setting the developer may have exported. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BERTH_")));

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `berth` with Node 24 (this test's own node) and waits for it to exit. */
function runBerth(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BERTH, ...args],
      { env: { ...cleanEnv, ...env }, cwd, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts `berth` in the background and resolves once its whole banner is out, with the URL. */
async function startBerth(
  t: import("node:test").TestContext,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
) {
  const child: ChildProcess = spawn(process.execPath, [BERTH, ...args], {
    env: { ...cleanEnv, ...env },
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no banner within 10 s; stdout: ${stdout} stderr: ${stderr}`)),
      10_000,
    );
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)\nData directory: .+\n/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
  });
  return { child, url, output: () => ({ stdout, stderr }) };
}

test("berth --help lists the commands; berth master --help lists its flags", async () => {
  const help = await runBerth(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: berth/);
  assert.match(help.stdout, /master\s/);
  assert.match(help.stdout, /dev\s/);
  const masterHelp = await runBerth(["master", "--help"]);
  assert.equal(masterHelp.code, 0);
  for (const flag of ["--port", "--data-dir", "--host", "--log-level", "--jwt-ttl", "BERTH_PORT"])
    assert.ok(masterHelp.stdout.includes(flag), flag);
});

test("bad flag values exit with code 2 and a message naming the flag", async (t) => {
  const dataDir = await makeTempDir(t);
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["master", "--port", "abc", "--data-dir", dataDir], {}, /invalid --port "abc"/],
    [["master", "--port", "99999", "--data-dir", dataDir], {}, /invalid --port "99999"/],
    [["master", "--data-dir", dataDir, "--log-level", "loud"], {}, /invalid --log-level "loud"/],
    [["master", "--data-dir", dataDir], { BERTH_PORT: "eighty" }, /invalid BERTH_PORT "eighty"/],
    [["master"], {}, /--data-dir \(or BERTH_DATA_DIR\) is required/],
    [["master", "--data-dir", dataDir], { BERTH_JWT_TTL: "forever" }, /invalid BERTH_JWT_TTL "forever"/],
    [["master", "--data-dir", dataDir], { BERTH_ADMIN_PASSWORD: "short" }, /invalid BERTH_ADMIN_PASSWORD/],
    [["master", "--data-dir", dataDir, "--no-such-flag"], {}, /unknown option/],
    [["no-such-command"], {}, /unknown command/],
  ];
  for (const [args, env, message] of cases) {
    const run = await runBerth(args, env);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});

test("berth master starts, answers, and stops cleanly on SIGTERM", async (t) => {
  const dataDir = join(await makeTempDir(t), "data");
  // A bad BERTH_PORT does not matter when the flag is given: flags win.
  const berth = await startBerth(t, ["master", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir], {
    BERTH_PORT: "not-a-port",
    BERTH_LOG_LEVEL: "warn",
  });
  assert.equal((await send(berth.url, "/readyz")).status, 200);
  assert.equal((await send(berth.url, "/info")).status, 200);
  assert.match(berth.output().stdout, new RegExp(`Data directory: ${dataDir}`));
  const exited = once(berth.child, "exit");
  berth.child.kill("SIGTERM");
  const [code, signal] = await exited;
  assert.equal(signal, null, berth.output().stderr);
  assert.equal(code, 0, berth.output().stderr);
  await assert.rejects(send(berth.url, "/healthz"));
});

test("berth dev listens on loopback with data under ./.berth, settings from the environment", async (t) => {
  const cwd = await makeTempDir(t);
  const berth = await startBerth(t, ["dev"], { BERTH_PORT: "0", BERTH_LOG_LEVEL: "silent" }, cwd);
  assert.match(berth.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(berth.output().stdout, /Berth dev master/);
  assert.ok(berth.output().stdout.includes(`Data directory: ${join(cwd, ".berth")}`), berth.output().stdout);
  const exited = once(berth.child, "exit");
  berth.child.kill("SIGINT");
  assert.deepEqual(await exited, [0, null]);
});

test("berth master takes BERTH_ADMIN_PASSWORD and BERTH_MASTER_KEY from the environment", async (t) => {
  const dataDir = await makeTempDir(t);
  const berth = await startBerth(t, ["master", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir], {
    BERTH_LOG_LEVEL: "silent",
    BERTH_ADMIN_PASSWORD: "cli admin password",
    BERTH_MASTER_KEY: randomBytes(32).toString("base64"),
  });
  const login = await sendJson(berth.url, "/api/auth", "POST", { Username: "admin", Password: "cli admin password" });
  assert.equal(login.status, 200, login.text);
  await assert.rejects(stat(join(dataDir, "master.key")), "the key came from the environment, not a file");
  berth.child.kill("SIGTERM");
  await once(berth.child, "exit");
});

test("a port already in use exits with code 1 and says why", async (t) => {
  const first = await startBerth(
    t,
    ["master", "--port", "0", "--host", "127.0.0.1", "--data-dir", await makeTempDir(t)],
    {
      BERTH_LOG_LEVEL: "silent",
    },
  );
  const port = new URL(first.url).port;
  const second = await runBerth(["master", "--port", port, "--host", "127.0.0.1", "--data-dir", await makeTempDir(t)], {
    BERTH_LOG_LEVEL: "silent",
  });
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /^berth: .*EADDRINUSE/);
  first.child.kill("SIGTERM");
  await once(first.child, "exit");
});
