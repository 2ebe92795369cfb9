/** A pull failed; the message carries the registry's reason (unauthorized, manifest unknown…). */
export class ImagePullError extends Error {
  readonly image: string;

  constructor(image: string, reason: string) {
    super(`pull of ${image} failed: ${reason}`);
    this.name = "ImagePullError";
    this.image = image;
  }
}
