import { OperationFailedError } from "../errors/operation-failed-error.ts";
import { DEFAULT_GRID } from "../grids/grid-service.ts";

/** The grids, as far as Consul's datacenters need them. */
export interface GridNames {
  /** Every grid's name. */
  names(): Promise<readonly string[]>;
}

/**
 * Consul datacenters are Berth grids: `?dc=` picks a grid; the master's local datacenter is the
 * default grid, which Consul clients see even after it was removed (the master's node lives there).
 */
export class DatacenterDirectory {
  readonly #grids: GridNames;

  constructor(grids: GridNames) {
    this.#grids = grids;
  }

  get defaultName(): string {
    return DEFAULT_GRID;
  }

  /** Every datacenter, the local one first (Consul lists the nearest first), then by name. */
  async list(): Promise<string[]> {
    const others = (await this.#grids.names()).filter((name) => name !== DEFAULT_GRID).sort();
    return [DEFAULT_GRID, ...others];
  }

  /** The datacenter a request means: the default when none is named. An unknown one is Consul's 500 "No path to datacenter". */
  async resolve(dc: string | undefined): Promise<string> {
    if (dc === undefined || dc === "" || dc === DEFAULT_GRID) return DEFAULT_GRID;
    if (!(await this.#grids.names()).includes(dc)) throw new OperationFailedError("No path to datacenter");
    return dc;
  }
}
