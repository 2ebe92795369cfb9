import type { Principal } from "../../core/auth/principal.ts";
import type { StoredService } from "../../core/services/service-record.ts";
import type { StoredStack } from "../../core/stacks/stack-record.ts";
import type { StackService } from "../../core/stacks/stack-service.ts";

/** A stack as the Director sees it: a deployment, with its services (its instance groups). */
export type Deployment = { readonly stack: StoredStack; readonly services: readonly StoredService[] };

/** The grid's stacks by name, each with its services in link order. */
export async function listDeployments(stacks: StackService, principal: Principal, grid: string): Promise<Deployment[]> {
  const list = (await stacks.list(principal, grid)).toSorted((a, b) => a.name.localeCompare(b.name));
  return Promise.all(list.map(async (stack) => ({ stack, services: await stacks.services(stack) })));
}

/**
 * An image reference as a stemcell's name and version: the repository and the tag (`latest`
 * when none is given), or the digest of `name@sha256:…`.
 */
export function stemcellOf(image: string): { readonly name: string; readonly version: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { name: image.slice(0, at), version: image.slice(at + 1) };
  const colon = image.lastIndexOf(":");
  // A colon before the last slash is a registry's port, not a tag.
  if (colon < 0 || colon < image.lastIndexOf("/")) return { name: image, version: "latest" };
  return { name: image.slice(0, colon), version: image.slice(colon + 1) };
}

/** The distinct stemcells a deployment's services use, in service order. */
export function stemcellsOf(deployment: Deployment): { name: string; version: string }[] {
  const seen = new Map<string, { name: string; version: string }>();
  for (const service of deployment.services) {
    const stemcell = stemcellOf(service.spec.image);
    seen.set(`${stemcell.name}:${stemcell.version}`, { ...stemcell });
  }
  return [...seen.values()];
}
