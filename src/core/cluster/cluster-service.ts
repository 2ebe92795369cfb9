import type { StateStore } from "../../store/state-store.ts";

/** The cluster as the Consul status endpoints see it. */
export interface ClusterStatus {
  /** "host:port" of the leading master; "" while none is known (as Consul answers). */
  readonly leader: string;
  readonly peers: readonly string[];
  /** The store revision the answer reflects. */
  readonly index: number;
}

/**
 * Which masters make up the cluster and which one leads. With the embedded store there is
 * one master and it leads; the etcd backend will elect a leader among several.
 */
export class ClusterService {
  readonly #store: StateStore;
  #address = "";

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Records the address this master is reachable at, once its listener is up. */
  advertise(address: string): void {
    this.#address = address;
  }

  status(): ClusterStatus {
    return {
      leader: this.#address,
      peers: this.#address === "" ? [] : [this.#address],
      index: this.#store.currentRevision(),
    };
  }
}
