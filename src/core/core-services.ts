import type { StateStore } from "../store/state-store.ts";
import { BlockingQueryService } from "./blocking/blocking-query-service.ts";
import { ClusterService } from "./cluster/cluster-service.ts";
import { ConfigService } from "./config/config-service.ts";
import { MasterIdentityService } from "./identity/master-identity-service.ts";

/** Every core service, built over one store; the faces receive what they need from here. */
export interface CoreServices {
  readonly blockingQueries: BlockingQueryService;
  readonly cluster: ClusterService;
  readonly config: ConfigService;
  readonly identity: MasterIdentityService;
}

/** Builds the core services and loads what they need before the master serves requests. */
export async function createCoreServices(store: StateStore): Promise<CoreServices> {
  const identity = new MasterIdentityService(store);
  await identity.load();
  return {
    blockingQueries: new BlockingQueryService(store),
    cluster: new ClusterService(store),
    config: new ConfigService(store),
    identity,
  };
}
