import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import bcrypt from "bcryptjs";
import type Docker from "dockerode";
import type { RegistryAuth } from "../../src/agent/container-runtime.ts";
import { followProgress } from "../../src/agent/docker-progress.ts";
import { pullTarget } from "../../src/protocol/image-reference.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./docker-busybox-image.ts";
import { freePort } from "./free-port.ts";
import { makeTempDir } from "./temp-dir.ts";

/** Debian's docker-registry (distribution v2). */
const REGISTRY_BINARY = "/usr/bin/docker-registry";
const READY_TIMEOUT_MS = 10_000;

export interface TestRegistry {
  /** `127.0.0.1:<port>`: Docker treats loopback registries as insecure (plain HTTP) by itself. */
  readonly url: string;
  /** The busybox image pushed into it, and absent from the engine's local images. */
  readonly image: string;
  /** Credentials of the first htpasswd user, as a pull takes them. */
  readonly auth: RegistryAuth;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** user → password; the registry demands one of them on every request. */
  readonly htpasswd: Readonly<Record<string, string>>;
}

/**
 * Starts a docker-registry on a free loopback port with htpasswd auth (bcrypt entries), pushes
 * BUSYBOX_IMAGE into it, and untags the pushed name locally so a pull really goes to the
 * registry. Stopped (and every local name of its images removed) when the test ends.
 */
export async function startRegistry(t: TestContext, docker: Docker, options: RegistryOptions): Promise<TestRegistry> {
  const [first] = Object.entries(options.htpasswd);
  if (first === undefined) throw new Error("startRegistry needs at least one htpasswd user");
  const dir = await makeTempDir(t, "berth-registry-");
  const htpasswd = Object.entries(options.htpasswd)
    .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 10)}\n`)
    .join("");
  await writeFile(join(dir, "htpasswd"), htpasswd, { mode: 0o600 });

  const { child, url } = await launch(dir);
  const image = `${url}/${BUSYBOX_IMAGE}`;
  const auth: RegistryAuth = { username: first[0], password: first[1], serveraddress: url };
  const stop = async (): Promise<void> => {
    await forgetRegistry(docker, url);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  };
  t.after(stop);
  await pushBusybox(docker, image, auth);
  return { url, image, auth, stop };
}

async function launch(dir: string): Promise<{ child: ChildProcess; url: string }> {
  // A free port can be taken between probing and binding; another try gets another port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `127.0.0.1:${port}`;
    const config = join(dir, "config.yml");
    await writeFile(
      config,
      [
        "version: 0.1",
        "log: { level: warn }",
        `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, "data"))} } }`,
        `http: { addr: ${JSON.stringify(url)} }`,
        `auth: { htpasswd: { realm: berth-test, path: ${JSON.stringify(join(dir, "htpasswd"))} } }`,
        "",
      ].join("\n"),
    );
    const child = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += String(chunk);
    });
    if (await answers(url, child)) return { child, url };
    child.kill("SIGKILL");
    if (attempt === 3) throw new Error(`docker-registry did not start on ${url}: ${stderr}`);
  }
}

/** Whether the registry answers /v2/ (401 without credentials) before it exits or times out. */
async function answers(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(`http://${url}/v2/`);
      if (response.status === 401) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  return false;
}

async function pushBusybox(docker: Docker, image: string, auth: RegistryAuth): Promise<void> {
  await ensureBusyboxImage(docker);
  const { repository, tag } = pullTarget(image);
  await docker.getImage(BUSYBOX_IMAGE).tag({ repo: repository, tag });
  const stream = await docker.getImage(image).push({ authconfig: { ...auth } });
  const failure = await followProgress(docker, stream);
  if (failure !== null) throw new Error(`push of ${image} failed: ${failure}`);
  await untag(docker, image);
}

/**
 * Drops every local name pointing into the registry: tags, and the digests pulls leave behind
 * (an image pulled by a test keeps `<registry>/<repo>@sha256:…` after its tag moves on).
 */
async function forgetRegistry(docker: Docker, url: string): Promise<void> {
  const names = (await docker.listImages()).flatMap((listed) =>
    [...(listed.RepoTags ?? []), ...(listed.RepoDigests ?? [])].filter((name) => name.startsWith(`${url}/`)),
  );
  for (const name of names) await untag(docker, name);
}

async function untag(docker: Docker, image: string): Promise<void> {
  try {
    // Other tags still name the same image, so this only removes the name.
    await docker.getImage(image).remove();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}
