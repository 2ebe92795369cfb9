import type { Face } from "./face.ts";

export interface Mount {
  readonly prefix: string;
  readonly face: Face;
}

/** Which face owns which path prefix; the single source for error shapes outside a route. */
export class MountTable {
  readonly #mounts: Mount[] = [];

  constructor(faces: readonly Face[]) {
    const names = new Set<string>();
    for (const face of faces) {
      if (names.has(face.name)) throw new Error(`two faces are named "${face.name}"`);
      names.add(face.name);
      for (const prefix of face.mounts) this.#add(prefix, face);
    }
  }

  /** Every mount, in registration order. */
  list(): readonly Mount[] {
    return this.#mounts;
  }

  /** The face owning a request path (without query string), or undefined outside every mount. */
  faceFor(path: string): Face | undefined {
    return this.#mounts.find((mount) => isUnder(path, mount.prefix))?.face;
  }

  #add(prefix: string, face: Face): void {
    if (!/^\/[^?#]*[^/?#]$/.test(prefix)) throw new Error(`face "${face.name}": bad mount "${prefix}"`);
    const clash = this.#mounts.find((mount) => isUnder(prefix, mount.prefix) || isUnder(mount.prefix, prefix));
    if (clash) {
      throw new Error(`face "${face.name}" mount "${prefix}" overlaps "${clash.prefix}" of face "${clash.face.name}"`);
    }
    this.#mounts.push({ prefix, face });
  }
}

/** True when the path is the prefix itself or lies below it on a segment boundary. */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && path[prefix.length] === "/");
}
