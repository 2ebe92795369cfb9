/** A `--docker` endpoint that is neither `unix:///path` nor `tcp://host:port`. */
export class InvalidDockerEndpointError extends Error {
  constructor(endpoint: string) {
    super(
      `invalid Docker endpoint ${JSON.stringify(endpoint)}: expected unix:///path/to/docker.sock or tcp://host:port`,
    );
    this.name = "InvalidDockerEndpointError";
  }
}
