import { hostname } from "node:os";
import type { StateStore } from "../store/state-store.ts";
import { AclService } from "./acl/acl-service.ts";
import { type AclSettings, DEFAULT_ACL_SETTINGS } from "./acl/acl-settings.ts";
import { AclTokenService } from "./acl/acl-token-service.ts";
import { sharedHclParser } from "./acl/hcl-parser.ts";
import { Authenticator } from "./auth/authenticator.ts";
import { JwtIssuer } from "./auth/jwt-issuer.ts";
import { LoginThrottle } from "./auth/login-throttle.ts";
import { BlockingQueryService } from "./blocking/blocking-query-service.ts";
import { ClusterService } from "./cluster/cluster-service.ts";
import { ConfigService } from "./config/config-service.ts";
import { CatalogService } from "./consul/catalog-service.ts";
import { CheckRunner } from "./consul/check-runner.ts";
import { DatacenterDirectory } from "./consul/datacenter-directory.ts";
import { EventService } from "./consul/event-service.ts";
import { InstanceCatalogSync } from "./consul/instance-catalog-sync.ts";
import { KvService } from "./consul/kv-service.ts";
import { LocalAgentService } from "./consul/local-agent-service.ts";
import { LockDelayTable } from "./consul/lock-delay-table.ts";
import { SessionService } from "./consul/session-service.ts";
import { SecretBox } from "./crypto/secret-box.ts";
import { registerDeployKinds } from "./deploys/deploy-operation-kinds.ts";
import { DeployWatchers } from "./deploys/deploy-watchers.ts";
import { ServiceDeployer } from "./deploys/service-deployer.ts";
import { StackDeployer } from "./deploys/stack-deployer.ts";
import { GridMemberService } from "./grids/grid-member-service.ts";
import { DEFAULT_GRID, GridService } from "./grids/grid-service.ts";
import { MasterIdentityService } from "./identity/master-identity-service.ts";
import { NodeInstanceService } from "./nodes/node-instance-service.ts";
import { NodeLinkService } from "./nodes/node-link-service.ts";
import { NODE_SCOPED_PREFIXES } from "./nodes/node-record.ts";
import { NodeService } from "./nodes/node-service.ts";
import { AccessTokenService } from "./oauth2/access-token-service.ts";
import { AuthorizationCodeService } from "./oauth2/authorization-code-service.ts";
import { ExternalLoginService } from "./oauth2/external-login-service.ts";
import { ExternalProviderClient } from "./oauth2/external-provider-client.ts";
import { LoginRequestService } from "./oauth2/login-request-service.ts";
import { OperationKindRegistry } from "./operations/operation-kind-registry.ts";
import { OperationRunner } from "./operations/operation-runner.ts";
import { OperationService } from "./operations/operation-service.ts";
import type { RescheduleGrace } from "./reconciler/offline-grace-timers.ts";
import { Reconciler } from "./reconciler/reconciler.ts";
import { PullCredentialsService } from "./registries/pull-credentials-service.ts";
import { REGISTRIES_PREFIX, RegistryService } from "./registries/registry-service.ts";
import { SECRETS_PREFIX, SecretService } from "./secrets/secret-service.ts";
import { SERVICES_PREFIX } from "./services/service-record.ts";
import { ServiceService } from "./services/service-service.ts";
import { STACKS_PREFIX } from "./stacks/stack-record.ts";
import { StackService } from "./stacks/stack-service.ts";
import { StackVmService } from "./stacks/stack-vm-service.ts";
import { VM_DETAILS_KIND, vmDetailsKind } from "./stacks/vm-details-kind.ts";
import { AdminSetupService } from "./users/admin-setup-service.ts";
import { UserService } from "./users/user-service.ts";

/** Every core service, built over one store; the faces receive what they need from here. */
export interface CoreServices {
  readonly blockingQueries: BlockingQueryService;
  readonly cluster: ClusterService;
  readonly config: ConfigService;
  readonly identity: MasterIdentityService;
  readonly users: UserService;
  readonly adminSetup: AdminSetupService;
  readonly jwt: JwtIssuer;
  readonly loginThrottle: LoginThrottle;
  readonly authenticator: Authenticator;
  /** Consul ACLs: what a request's token may do. */
  readonly acl: AclService;
  readonly aclTokens: AclTokenService;
  readonly accessTokens: AccessTokenService;
  readonly authorizationCodes: AuthorizationCodeService;
  readonly externalLogin: ExternalLoginService;
  /** The master key itself, for deriving purpose-bound keys (as the JWT issuer does). */
  readonly masterKey: Buffer;
  /** Encryption at rest under the master key (secrets, registry passwords). */
  readonly secretBox: SecretBox;
  readonly grids: GridService;
  readonly gridMembers: GridMemberService;
  readonly secrets: SecretService;
  readonly registries: RegistryService;
  /** The registry logins agents get for their pulls. */
  readonly pullCredentials: PullCredentialsService;
  readonly nodes: NodeService;
  /** Nodes as their agents' links see them: admission, presence, reports. */
  readonly nodeLinks: NodeLinkService;
  /** Desired instances per node (the scheduler's output) and the states agents report. */
  readonly nodeInstances: NodeInstanceService;
  /** Consul datacenters: the grids. */
  readonly datacenters: DatacenterDirectory;
  /** The service catalog (Consul's catalog and health). */
  readonly catalog: CatalogService;
  /** The master's own Consul agent: its node in the catalog, its services and checks. */
  readonly consulAgent: LocalAgentService;
  /** Consul user events. */
  readonly events: EventService;
  /** Consul's KV store, per datacenter. */
  readonly kv: KvService;
  /** Consul sessions: locks on KV entries, with TTLs and invalidation. */
  readonly sessions: SessionService;
  /** Long-running actions (deploys, scales, restarts…): records, logs and queues. */
  readonly operations: OperationService;
  /** The operation kinds the runner knows; register before the master starts the runner. */
  readonly operationKinds: OperationKindRegistry;
  /** Runs queued operations; the master starts it (restart recovery first) and stops it before the store closes. */
  readonly operationRunner: OperationRunner;
  /** Deploys services off offline and drained nodes, and daemons onto new ones; the master starts and stops it. */
  readonly reconciler: Reconciler;
  /** Keeps Berth's running instances in the Consul catalog; the master starts and stops it. */
  readonly instanceCatalog: InstanceCatalogSync;
  /** Services: their records, and the deploy operations submitted for them. */
  readonly services: ServiceService;
  /** Stacks: a stack and its services, written together; stack deploys and removals. */
  readonly stacks: StackService;
  /** A stack's instances where they run (the Director's VMs). */
  readonly stackVms: StackVmService;
  /** Carries out the service operations (deploy, scale, start, stop, restart, remove). */
  readonly serviceDeployer: ServiceDeployer;
  /** Carries out the stack operations (deploy, remove). */
  readonly stackDeployer: StackDeployer;
  /** Interval and secret-change redeploys, oneshot hook memory; the master starts and stops them. */
  readonly deployWatchers: DeployWatchers;
}

/** What the core needs from the master's settings. */
export interface CoreOptions {
  /** 32 bytes, from loadMasterKey. */
  readonly masterKey: Buffer;
  /** Lifetime of the JWTs /api/auth hands out; 8 hours (Portainer's) when absent. */
  readonly jwtTtlSeconds?: number;
  /** Enabled with default deny when absent. */
  readonly consulAcl?: AclSettings;
  /** Whether Consul script checks may run programs on the master; off when absent. */
  readonly consulScriptChecks?: boolean;
  /** Shortest Consul session TTL, ms (Consul's session_ttl_min); 10 s when absent. */
  readonly consulSessionTtlMinMs?: number;
  /** How long a node may be offline before its ha / random instances move; 120 s / 30 s when absent. */
  readonly rescheduleGrace?: RescheduleGrace;
  /** Seconds a node found offline at start gets to reconnect before it counts as past its grace; 30 when absent. */
  readonly rescheduleReconnectAllowanceSeconds?: number;
  /** Told about failures of background work (reconciler, catalog sync); ignored when absent. */
  readonly onBackgroundError?: (error: unknown, what: string) => void;
  /** How long a deploy waits for one instance before failing, ms; 5 minutes when absent (tests shorten it). */
  readonly deployInstanceTimeoutMs?: number;
  /** How often services with a deploy interval are checked, ms; 10 s when absent. */
  readonly deployIntervalCheckMs?: number;
  /** Finished operations kept in the store, newest first; 2,000 (BOSH's max_tasks) when absent. */
  readonly operationsKept?: number;
}

/** Builds the core services and loads what they need before the master serves requests. */
export async function createCoreServices(store: StateStore, options: CoreOptions): Promise<CoreServices> {
  const identity = new MasterIdentityService(store);
  await identity.load();
  const users = new UserService(store);
  const jwt = new JwtIssuer(options.masterKey, users, options.jwtTtlSeconds);
  const loginThrottle = new LoginThrottle();
  const config = new ConfigService(store);
  const accessTokens = new AccessTokenService(store, users);
  const authorizationCodes = new AuthorizationCodeService(store, users, accessTokens);
  const secretBox = new SecretBox(options.masterKey);
  // Records under these prefixes (`<prefix><grid>/…`) are removed with their grid.
  const grids = new GridService(store, secretBox, [
    SECRETS_PREFIX,
    REGISTRIES_PREFIX,
    SERVICES_PREFIX,
    STACKS_PREFIX,
    ...NODE_SCOPED_PREFIXES,
  ]);
  await grids.ensureDefault();
  const authenticator = new Authenticator(users, [jwt, accessTokens], loginThrottle);
  const consulAcl = options.consulAcl ?? DEFAULT_ACL_SETTINGS;
  const aclTokens = new AclTokenService(store, sharedHclParser, consulAcl.masterToken);
  if (consulAcl.enabled) await aclTokens.ensureAnonymous();
  const localNode = hostname();
  // The catalog ends sessions when their checks go critical; sessions ask the catalog about nodes and checks.
  const catalog = new CatalogService(store, {
    localNode,
    sessions: {
      invalidateForCheck: (dc, node, checkId) => sessions.invalidateForCheck(dc, node, checkId),
      invalidateForNode: (dc, node) => sessions.invalidateForNode(dc, node),
    },
  });
  const lockDelays = new LockDelayTable();
  const sessions = new SessionService(store, lockDelays, catalog, { ttlMinMs: options.consulSessionTtlMinMs });
  const datacenters = new DatacenterDirectory(grids);
  await sessions.start(await datacenters.list());
  const registries = new RegistryService(store, grids, secretBox);
  const nodeInstances = new NodeInstanceService(store);
  const operations = new OperationService(store);
  const operationKinds = new OperationKindRegistry();
  const consulAgent = new LocalAgentService(catalog, new CheckRunner(catalog), {
    dc: DEFAULT_GRID,
    node: localNode,
    scriptChecks: options.consulScriptChecks ?? false,
  });
  const services = new ServiceService(store, grids, operations, nodeInstances);
  const stackVms = new StackVmService(store, services);
  // Registered before the master starts the runner, so that restart recovery knows the kind.
  operationKinds.register(VM_DETAILS_KIND, vmDetailsKind(stackVms));
  const serviceDeployer = new ServiceDeployer(store, nodeInstances, {
    instanceTimeoutMs: options.deployInstanceTimeoutMs,
  });
  const stackDeployer = new StackDeployer(store, serviceDeployer);
  registerDeployKinds(operationKinds, { services: serviceDeployer, stacks: stackDeployer });
  return {
    blockingQueries: new BlockingQueryService(store),
    cluster: new ClusterService(store),
    config,
    identity,
    users,
    adminSetup: new AdminSetupService(users),
    jwt,
    loginThrottle,
    authenticator,
    acl: new AclService(store, consulAcl, authenticator, sharedHclParser),
    aclTokens,
    accessTokens,
    authorizationCodes,
    externalLogin: new ExternalLoginService({
      config,
      users,
      codes: authorizationCodes,
      requests: new LoginRequestService(store),
      provider: new ExternalProviderClient(),
    }),
    masterKey: options.masterKey,
    secretBox,
    grids,
    gridMembers: new GridMemberService(grids, users),
    secrets: new SecretService(store, grids, secretBox),
    registries,
    pullCredentials: new PullCredentialsService(nodeInstances, registries),
    nodes: new NodeService(store, grids),
    nodeLinks: new NodeLinkService(store, grids),
    nodeInstances,
    datacenters,
    catalog,
    consulAgent,
    events: new EventService(store),
    kv: new KvService(store, lockDelays),
    sessions,
    operations,
    operationKinds,
    operationRunner: new OperationRunner(store, operations, operationKinds, {
      operationsKept: options.operationsKept,
      onError: (error) => options.onBackgroundError?.(error, "operation runner"),
    }),
    reconciler: new Reconciler(store, operations, {
      grace: options.rescheduleGrace,
      reconnectAllowanceSeconds: options.rescheduleReconnectAllowanceSeconds,
      onError: (error) => options.onBackgroundError?.(error, "reconciler"),
    }),
    instanceCatalog: new InstanceCatalogSync(store, catalog, datacenters, {
      onError: (error) => options.onBackgroundError?.(error, "catalog sync"),
    }),
    services,
    stacks: new StackService(store, grids, operations),
    stackVms,
    serviceDeployer,
    stackDeployer,
    deployWatchers: new DeployWatchers(store, operations, { intervalCheckMs: options.deployIntervalCheckMs }),
  };
}
