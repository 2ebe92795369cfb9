import { imageRegistryHost } from "../../protocol/image-reference.ts";
import { InvalidImageReferenceError } from "../../protocol/invalid-image-reference-error.ts";
import type { RegistryCredentials } from "../../protocol/link-messages.ts";
import type { NodeInstanceService } from "../nodes/node-instance-service.ts";
import type { RegistryService } from "./registry-service.ts";

/**
 * The registry logins a node's agent gets for its pulls: its own grid's, and only for a registry
 * that one of the node's desired instances pulls from — an agent cannot fish for the logins to the
 * grid's other registries. Read at every request, so a registry added (or its password changed)
 * after an instance was desired counts from the agent's next pull attempt.
 */
export class PullCredentialsService {
  readonly #nodeInstances: NodeInstanceService;
  readonly #registries: RegistryService;

  constructor(nodeInstances: NodeInstanceService, registries: RegistryService) {
    this.#nodeInstances = nodeInstances;
    this.#registries = registries;
  }

  /** The login for pulling `image` on a node, or null for an anonymous pull. */
  async forPull(grid: string, node: string, image: string): Promise<RegistryCredentials | null> {
    const host = registryHostOf(image);
    if (host === null) return null;
    const { instances } = await this.#nodeInstances.snapshot(grid, node);
    if (!instances.some((instance) => registryHostOf(instance.image) === host)) return null;
    return (await this.#registries.credentialsFor(grid, image)) ?? null;
  }
}

/** The image's registry host; null for a reference no pull could use. */
function registryHostOf(image: string): string | null {
  try {
    return imageRegistryHost(image);
  } catch (error) {
    if (error instanceof InvalidImageReferenceError) return null;
    throw error;
  }
}
