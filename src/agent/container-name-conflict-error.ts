/** Another container already holds the name an instance's container needs. */
export class ContainerNameConflictError extends Error {
  readonly containerName: string;

  constructor(containerName: string) {
    super(`container name ${containerName} is already in use`);
    this.name = "ContainerNameConflictError";
    this.containerName = containerName;
  }
}
