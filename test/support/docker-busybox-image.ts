import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { followProgress } from "../../src/agent/docker-progress.ts";
import { pullTarget } from "../../src/protocol/image-reference.ts";

/** A tiny local image with busybox's applets (sh, sleep, nc, httpd, wget…); nothing is pulled from the internet. */
export const BUSYBOX_IMAGE = "berth-test/busybox:latest";

const BUSYBOX = "/bin/busybox";
/** Names the busybox binary the image was built from, so a changed binary means a rebuilt image. */
const SOURCE_LABEL = "io.berth.test.busybox-sha256";
const LOCK = join(tmpdir(), "berth-test-busybox-image.lock");
/** A lock older than this was left by a killed build. */
const STALE_LOCK_MS = 120_000;
const run = promisify(execFile);

let building: Promise<string> | undefined;

/**
 * Builds BUSYBOX_IMAGE from Debian's busybox-static, once: `docker import` of a rootfs made in
 * a temp dir. Idempotent, and safe when several test files (processes) call it at once: a
 * lock file lets one build while the others wait for the image to appear.
 */
export function ensureBusyboxImage(docker: Docker): Promise<string> {
  building ??= buildOnce(docker).catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function buildOnce(docker: Docker): Promise<string> {
  const source = createHash("sha256")
    .update(await readFile(BUSYBOX))
    .digest("hex");
  for (;;) {
    if (await isBuilt(docker, source)) return BUSYBOX_IMAGE;
    const lock = await tryLock();
    if (lock === null) {
      await sleep(200);
      continue;
    }
    try {
      if (!(await isBuilt(docker, source))) await importRootfs(docker, source);
      return BUSYBOX_IMAGE;
    } finally {
      await lock.close();
      await unlink(LOCK).catch(() => {});
    }
  }
}

async function isBuilt(docker: Docker, source: string): Promise<boolean> {
  try {
    const image = await docker.getImage(BUSYBOX_IMAGE).inspect();
    return image.Config?.Labels?.[SOURCE_LABEL] === source;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

async function tryLock(): Promise<Awaited<ReturnType<typeof open>> | null> {
  try {
    return await open(LOCK, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const age = Date.now() - (await stat(LOCK).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > STALE_LOCK_MS) await unlink(LOCK).catch(() => {});
    return null;
  }
}

async function importRootfs(docker: Docker, source: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "berth-busybox-"));
  try {
    const rootfs = join(dir, "rootfs");
    for (const path of ["bin", "etc", "root", "proc", "sys", "dev", "var/www"]) {
      await mkdir(join(rootfs, path), { recursive: true });
    }
    await mkdir(join(rootfs, "tmp"));
    await chmod(join(rootfs, "tmp"), 0o1777);
    await copyFile(BUSYBOX, join(rootfs, "bin/busybox"));
    const { stdout } = await run(BUSYBOX, ["--list"]);
    for (const applet of stdout.split("\n").filter((name) => name !== "" && name !== "busybox")) {
      await symlink("busybox", join(rootfs, "bin", applet));
    }
    await writeFile(
      join(rootfs, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    await writeFile(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    const tar = join(dir, "rootfs.tar");
    await run("tar", ["-C", rootfs, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "."]);
    const { repository, tag } = pullTarget(BUSYBOX_IMAGE);
    const stream = await docker.importImage(tar, {
      repo: repository,
      tag,
      changes: [`LABEL ${SOURCE_LABEL}=${source}`, "ENV PATH=/bin", 'CMD ["sh"]'],
    });
    const failure = await followProgress(docker, stream);
    if (failure !== null) throw new Error(`docker import of ${BUSYBOX_IMAGE} failed: ${failure}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
