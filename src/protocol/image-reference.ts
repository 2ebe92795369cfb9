import { InvalidImageReferenceError } from "./invalid-image-reference-error.ts";

/**
 * Image references as Docker reads them, for the agent (what to pull, the name Docker stores) and
 * the master (which registry's login an image needs).
 */

/** An image reference split the way Docker reads it: `[domain/]path[:tag][@digest]`. */
export interface ImageReference {
  /** Registry host when the reference names one (`registry.example.com:5000`, `localhost`), else null (Docker Hub). */
  readonly domain: string | null;
  /** Repository path after the domain, e.g. `library/busybox` or `busybox`. */
  readonly path: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

// Docker's grammar (distribution/reference), without the length limits the engine checks itself.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}))?$`,
);

/** The registry host of images named without one (`busybox`, `library/redis:7`). */
export const DOCKER_HUB_HOST = "docker.io";

/** The names Docker Hub goes by; a registry added under any of them serves Hub images. */
export const DOCKER_HUB_ALIASES: readonly string[] = [
  DOCKER_HUB_HOST,
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
];

/** Whether the first component names a registry rather than a Docker Hub namespace (Docker's own rule). */
function isDomain(component: string): boolean {
  return (
    component.includes(".") ||
    component.includes(":") ||
    component === "localhost" ||
    component !== component.toLowerCase()
  );
}

export function parseImageReference(reference: string): ImageReference {
  const match = REFERENCE.exec(reference);
  if (!match) throw new InvalidImageReferenceError(reference);
  const [, first, path, tag, digest] = match;
  // The regex takes `user/repo` as domain `user` + path `repo`; Docker only calls it a domain when it looks like one.
  if (first !== undefined && !isDomain(first)) {
    return { domain: null, path: `${first}/${path}`, tag: tag ?? null, digest: digest ?? null };
  }
  return { domain: first ?? null, path: path!, tag: tag ?? null, digest: digest ?? null };
}

/** The reference Docker stores locally: the name as given, with `:latest` when it has neither tag nor digest. */
export function normalizeImageReference(reference: string): string {
  const parsed = parseImageReference(reference);
  const name = parsed.domain === null ? parsed.path : `${parsed.domain}/${parsed.path}`;
  if (parsed.digest !== null) return `${name}${parsed.tag === null ? "" : `:${parsed.tag}`}@${parsed.digest}`;
  return `${name}:${parsed.tag ?? "latest"}`;
}

/** The repository to pull (`fromImage`) and the tag or digest to pull of it. */
export function pullTarget(reference: string): { readonly repository: string; readonly tag: string } {
  const parsed = parseImageReference(reference);
  const repository = parsed.domain === null ? parsed.path : `${parsed.domain}/${parsed.path}`;
  return { repository, tag: parsed.digest ?? parsed.tag ?? "latest" };
}

/**
 * The registry an image reference points at, lowercased `host[:port]` (`localhost:5000/x` →
 * `localhost:5000`, `quay.io/a/b` → `quay.io`, `busybox` and Hub's other names → `docker.io`).
 * Throws InvalidImageReferenceError for a reference Docker would refuse.
 */
export function imageRegistryHost(reference: string): string {
  const domain = parseImageReference(reference).domain?.toLowerCase();
  return domain === undefined || DOCKER_HUB_ALIASES.includes(domain) ? DOCKER_HUB_HOST : domain;
}
