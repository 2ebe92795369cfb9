import FindMyWay from "find-my-way";

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** The face that registered it; "host" for the host's own routes (/healthz…). */
  readonly face: string;
  /** Served without authentication (`config: { public: true }`). */
  readonly public: boolean;
}

/**
 * Every route the host serves, with its face: discoverable for route sweeps and docs, and
 * mirrored in a router so that a wrong method on a known path answers 405, not 404.
 */
export class RouteTable {
  readonly #entries: RouteEntry[] = [];
  readonly #methods = new Set<FindMyWay.HTTPMethod>();
  readonly #router = FindMyWay();

  add(entry: RouteEntry): void {
    this.#entries.push(entry);
    const method = entry.method as FindMyWay.HTTPMethod;
    this.#methods.add(method);
    this.#router.on(method, entry.url, () => {});
  }

  list(): readonly RouteEntry[] {
    return this.#entries;
  }

  /** Methods that have a route for this path (without query string), sorted. */
  allowedMethods(path: string): string[] {
    return [...this.#methods].filter((method) => this.#router.find(method, path) !== null).sort();
  }
}
