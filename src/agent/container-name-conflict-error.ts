/** Another container already holds the name an instance's container needs. */
export class ContainerNameConflictError extends Error {
  readonly containerName: string;
  /** The id of the container holding the name, when known. */
  readonly holderId: string | null;

  constructor(containerName: string, holderId: string | null, holderDescription = "") {
    const holder = holderId === null ? "" : ` by container ${holderId.slice(0, 12)}${holderDescription}`;
    super(`container name ${containerName} is already in use${holder}`);
    this.name = "ContainerNameConflictError";
    this.containerName = containerName;
    this.holderId = holderId;
  }
}
