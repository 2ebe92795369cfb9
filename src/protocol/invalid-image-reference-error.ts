/** An image reference Docker would refuse (uppercase path, empty component, bad tag…). */
export class InvalidImageReferenceError extends Error {
  constructor(reference: string) {
    super(`invalid image reference: ${JSON.stringify(reference)}`);
    this.name = "InvalidImageReferenceError";
  }
}
