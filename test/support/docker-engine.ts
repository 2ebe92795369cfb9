import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import Docker from "dockerode";
import { DEFAULT_DOCKER_ENDPOINT, dockerClientOptions } from "../../src/agent/docker-endpoint.ts";

/** Label on every container a Docker-backed test creates, valued with the run's id, for cleanup. */
export const TEST_RUN_LABEL = "io.berth.test.run";

/** The engine Docker-backed tests use: DOCKER_HOST when set (as the docker CLI reads it), else the local socket. */
export const TEST_DOCKER_ENDPOINT = process.env.DOCKER_HOST || DEFAULT_DOCKER_ENDPOINT;

/**
 * The local Docker engine, or null when it is unreachable: then the test is skipped loudly,
 * or fails when BERTH_REQUIRE_DOCKER=1 (CI sets it, so a broken engine never passes as a skip).
 */
export async function requireDocker(t: TestContext): Promise<Docker | null> {
  const docker = new Docker(dockerClientOptions(TEST_DOCKER_ENDPOINT));
  try {
    await docker.ping();
    return docker;
  } catch (error) {
    const reason = `Docker engine unreachable at ${TEST_DOCKER_ENDPOINT}: ${(error as Error).message}`;
    if (process.env.BERTH_REQUIRE_DOCKER === "1") throw new Error(`${reason} (and BERTH_REQUIRE_DOCKER=1)`);
    process.stderr.write(`\n*** SKIPPED Docker-backed test "${t.name}": ${reason} ***\n\n`);
    t.skip(reason);
    return null;
  }
}

export interface DockerTestRun {
  /** `berth-test-<id>`, unique to this run: starts node, container and volume names, so concurrent runs never meet. */
  readonly prefix: string;
  /** Labels to put on every container the test creates. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A fresh run; when the test ends, every container labelled with it is removed, then every
 * volume whose name starts with its prefix.
 */
export function startDockerTestRun(t: TestContext, docker: Docker): DockerTestRun {
  const id = randomBytes(4).toString("hex");
  const prefix = `berth-test-${id}`;
  t.after(async () => {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${TEST_RUN_LABEL}=${id}`] } });
    await Promise.all(
      containers.map((container) => gone(docker.getContainer(container.Id).remove({ force: true, v: true }))),
    );
    const { Volumes: volumes } = await docker.listVolumes({ filters: { name: [prefix] } });
    await Promise.all(
      (volumes ?? [])
        .filter((volume) => volume.Name.startsWith(prefix))
        .map((volume) => gone(docker.getVolume(volume.Name).remove())),
    );
  });
  return { prefix, labels: { [TEST_RUN_LABEL]: id } };
}

/** Already gone (a test removed it itself) is fine; anything else is worth seeing. */
async function gone(removal: Promise<unknown>): Promise<void> {
  try {
    await removal;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}
