/** The agent cannot reach the Docker engine it was pointed at. */
export class DockerUnreachableError extends Error {
  readonly endpoint: string;

  constructor(endpoint: string, cause: unknown) {
    super(`the Docker engine at ${endpoint} is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "DockerUnreachableError";
    this.endpoint = endpoint;
  }
}
