import type { DockerOptions } from "dockerode";
import { InvalidDockerEndpointError } from "./invalid-docker-endpoint-error.ts";

/** Where Docker listens unless told otherwise. */
export const DEFAULT_DOCKER_ENDPOINT = "unix:///var/run/docker.sock";

/**
 * dockerode options for a `--docker` endpoint: `unix:///path/to/docker.sock` or
 * `tcp://host:port` (plain HTTP, as `DOCKER_HOST=tcp://…` means without TLS settings).
 */
export function dockerClientOptions(endpoint: string = DEFAULT_DOCKER_ENDPOINT): DockerOptions {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidDockerEndpointError(endpoint);
  }
  if (url.protocol === "unix:" && url.host === "" && url.pathname !== "" && url.pathname !== "/") {
    return { socketPath: decodeURIComponent(url.pathname) };
  }
  if ((url.protocol === "tcp:" || url.protocol === "http:") && url.hostname !== "" && url.port !== "") {
    return { protocol: "http", host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) };
  }
  throw new InvalidDockerEndpointError(endpoint);
}
