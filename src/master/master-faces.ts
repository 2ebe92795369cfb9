import type { CoreServices } from "../core/core-services.ts";
import { createConsulFace } from "../faces/consul/consul-face.ts";
import { createDirectorFace } from "../faces/director/director-face.ts";
import { createDockerGatewayFace } from "../faces/docker-gateway/docker-gateway-face.ts";
import { createNativeFace } from "../faces/native/native-face.ts";
import { createNetworkFace } from "../faces/network/network-face.ts";
import type { Face } from "../http/face.ts";

/** The face whose error shape answers paths under no mount. */
export const FALLBACK_FACE = "native";

/** The five API faces, wired to the core services they use. */
export function createMasterFaces(core: CoreServices): Face[] {
  return [
    createNativeFace(core),
    createConsulFace(core),
    createDockerGatewayFace(core),
    createNetworkFace(core),
    createDirectorFace(core),
  ];
}
