import { type ChildProcess, spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { TEST_DOCKER_ENDPOINT } from "./docker-engine.ts";

const BERTH = fileURLToPath(new URL("../../bin/berth.js", import.meta.url));

/** The environment without any BERTH_ setting the developer may have exported. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BERTH_")));

/** `berth …` in a child process (so that it can be killed for real). */
export interface BerthProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** The exit code and output once it exits by itself; fails the test when it is still running after `ms`. */
  exit(ms?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `node bin/berth.js …` with the test's Node 24 and a clean environment; killed when the test ends. */
export function spawnBerth(t: TestContext, args: readonly string[], env: Record<string, string> = {}): BerthProcess {
  const child = spawn(process.execPath, [BERTH, ...args], {
    env: { ...(cleanEnv as Record<string, string>), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  t.after(kill);
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    kill,
    async exit(ms = 15_000) {
      const code = await Promise.race([exited, sleep(ms, "still running" as const, { ref: false })]);
      if (code === "still running") throw new Error(`berth ${args[0]} did not stop: ${stdout} ${stderr}`);
      return { code, stdout, stderr };
    },
  };
}

export interface AgentProcessOptions {
  readonly masterUrl: string;
  readonly name: string;
  readonly dataDir: string;
  /** Left out once the agent has joined: it uses its stored node token. */
  readonly gridToken?: string;
  readonly labels?: string;
  /** --log-level; the agent's default (info) when left out. */
  readonly logLevel?: string;
}

/** `berth agent` on the test's Docker engine, the grid token in the environment (as the help advises). */
export function spawnAgent(t: TestContext, options: AgentProcessOptions): BerthProcess {
  const args = ["agent", "--master", options.masterUrl, "--name", options.name, "--data-dir", options.dataDir];
  if (options.labels !== undefined) args.push("--labels", options.labels);
  if (options.logLevel !== undefined) args.push("--log-level", options.logLevel);
  const env: Record<string, string> = { BERTH_DOCKER_HOST: TEST_DOCKER_ENDPOINT };
  if (options.gridToken !== undefined) env.BERTH_GRID_TOKEN = options.gridToken;
  return spawnBerth(t, args, env);
}
