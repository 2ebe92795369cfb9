import { berthVersion } from "../config/berth-version.ts";
import type { CoreServices } from "../core/core-services.ts";
import { type AgentLinkFaceOptions, createAgentLinkFace } from "../faces/agent-link/agent-link-face.ts";
import { createConsulFace } from "../faces/consul/consul-face.ts";
import { createDirectorFace } from "../faces/director/director-face.ts";
import { createDockerGatewayFace } from "../faces/docker-gateway/docker-gateway-face.ts";
import { createNativeFace } from "../faces/native/native-face.ts";
import { createNetworkFace } from "../faces/network/network-face.ts";
import type { Face } from "../http/face.ts";

/** The face whose error shape answers paths under no mount. */
export const FALLBACK_FACE = "native";

/** Tuning of the faces (tests shorten the agent link's timers). */
export interface MasterFacesOptions {
  readonly agentLink?: Partial<AgentLinkFaceOptions>;
}

/** The five API faces and the agents' link, wired to the core services they use. */
export function createMasterFaces(core: CoreServices, options: MasterFacesOptions = {}): Face[] {
  return [
    createNativeFace(core),
    createConsulFace(core),
    createDockerGatewayFace(core),
    createNetworkFace(core),
    createDirectorFace(core),
    createAgentLinkFace(core, { masterVersion: berthVersion, ...options.agentLink }),
  ];
}
