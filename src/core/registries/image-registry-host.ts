/** The registry host of images named without one (`busybox`, `library/redis:7`). */
export const DOCKER_HUB_HOST = "docker.io";

/** The names Docker Hub goes by; a registry added under any of them serves Hub images. */
export const DOCKER_HUB_ALIASES: readonly string[] = [
  DOCKER_HUB_HOST,
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
];

/**
 * The registry an image reference points at, lowercased `host[:port]`, as Docker reads it: the
 * first path component is a registry only when it has a dot, a port or a capital letter, or is
 * `localhost` (`localhost:5000/x` → `localhost:5000`, `quay.io/a/b` → `quay.io`, `busybox` → `docker.io`).
 */
export function imageRegistryHost(imageRef: string): string {
  const slash = imageRef.indexOf("/");
  if (slash === -1) return DOCKER_HUB_HOST;
  const first = imageRef.slice(0, slash);
  const isHost = first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase();
  if (!isHost) return DOCKER_HUB_HOST;
  const host = first.toLowerCase();
  return DOCKER_HUB_ALIASES.includes(host) ? DOCKER_HUB_HOST : host;
}
