import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DestinationStream } from "pino";
import { EmbeddedStore } from "../backends/embedded/embedded-store.ts";
import { ConfigError } from "../config/config-error.ts";
import type { LogLevel } from "../config/log-level.ts";
import { type CoreServices, createCoreServices } from "../core/core-services.ts";
import { loadMasterKey } from "../core/crypto/master-key.ts";
import { ValidationError } from "../core/errors/validation-error.ts";
import { DEFAULT_RESCHEDULE_GRACE } from "../core/reconciler/offline-grace-timers.ts";
import type { AdminBootstrap } from "../core/users/admin-setup-service.ts";
import { createHttpHost, type HttpHost } from "../http/http-host.ts";
import { createLogger } from "../http/http-logger.ts";
import { fieldsText } from "../http/problem-text.ts";
import type { StateStore } from "../store/state-store.ts";
import { adminBannerLines } from "./admin-banner.ts";
import { advertiseAddress, advertiseHost, connectHost, hostPort } from "./advertise-address.ts";
import { type ConsulAclOptions, consulAclSetup } from "./consul-acl-setup.ts";
import { type DevAgent, type DevAgentSettings, startDevAgent } from "./dev-agent.ts";
import { createMasterFaces, FALLBACK_FACE, type MasterFacesOptions } from "./master-faces.ts";

export interface MasterOptions extends ConsulAclOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Holds berth.db; created when missing. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Started by `berth dev` (one machine, loopback, local data). */
  readonly dev: boolean;
  /** Seconds; 8 hours when absent. */
  readonly jwtTtl?: number;
  /** BERTH_MASTER_KEY (base64 of 32 bytes); when absent, the key file in the data directory. */
  readonly masterKey?: string;
  /** BERTH_ADMIN_PASSWORD: creates admin `admin` with it on a master that has no admin yet. */
  readonly adminPassword?: string;
  /** Lets Consul script checks run programs on the master (off by default). */
  readonly consulScriptChecks?: boolean;
  /** Shortest Consul session TTL, ms (Consul's session_ttl_min, 10 s by default; tests shorten it). */
  readonly consulSessionTtlMinMs?: number;
  /** How long a deploy waits for one instance, ms (5 minutes by default; tests shorten it). */
  readonly deployInstanceTimeoutMs?: number;
  /** How often deploy intervals are checked, ms (10 s by default; tests shorten it). */
  readonly deployIntervalCheckMs?: number;
  /** Seconds a node may be offline before its ha / random instances move (120 / 30 by default; tests shorten them). */
  readonly rescheduleGraceHa?: number;
  readonly rescheduleGraceRandom?: number;
  /** Finished operations kept in the store (2,000 by default; tests lower it). */
  readonly operationsKept?: number;
  /** Seconds a node found offline at start gets to reconnect first (30 by default). */
  readonly rescheduleReconnectAllowanceSeconds?: number;
  /** `berth dev`: run a local agent in this process, joined to the default grid (when Docker answers). */
  readonly devAgent?: DevAgentSettings;
  /** Agent link timers (tests shorten them). */
  readonly agentLink?: MasterFacesOptions["agentLink"];
  /** Where the startup banner goes; stdout by default. */
  readonly print?: (line: string) => void;
  /** Where log lines go; stdout by default. */
  readonly logDestination?: DestinationStream;
  /** Called after a fatal store failure has closed the master (the process should exit non-zero). */
  readonly onFatal?: (error: Error) => void;
}

export interface RunningMaster {
  /** Base URL a client on this machine can use. */
  readonly url: string;
  readonly dataDir: string;
  /** The database file inside the data directory. */
  readonly databasePath: string;
  readonly host: HttpHost;
  /** The core services (for in-process callers: the dev agent, tests). */
  readonly core: CoreServices;
  /** Graceful shutdown: drain HTTP, then close the store. Idempotent. */
  close(): Promise<void>;
}

/** Opens the store, builds the core services and faces, and starts serving. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logger = createLogger(options.logLevel, options.logDestination);
  await mkdir(options.dataDir, { recursive: true });
  const masterKey = loadMasterKey(options.dataDir, options.masterKey);
  const databasePath = join(options.dataDir, "berth.db");

  let master: RunningMaster | undefined;
  const store: StateStore = await EmbeddedStore.open({
    path: databasePath,
    onFatal: (error) => {
      // Crash-only: the file on disk is the truth; a restart recovers from it.
      logger.fatal({ err: error }, "the state store failed; shutting down");
      void master?.close().finally(() => options.onFatal?.(error));
    },
  });

  let host: HttpHost | undefined;
  let stopOperations = async () => {};
  try {
    const consulAcl = consulAclSetup(options);
    const core = await createCoreServices(store, {
      masterKey,
      jwtTtlSeconds: options.jwtTtl,
      consulAcl: consulAcl.settings,
      consulScriptChecks: options.consulScriptChecks,
      consulSessionTtlMinMs: options.consulSessionTtlMinMs,
      rescheduleGrace: {
        haSeconds: options.rescheduleGraceHa ?? DEFAULT_RESCHEDULE_GRACE.haSeconds,
        randomSeconds: options.rescheduleGraceRandom ?? DEFAULT_RESCHEDULE_GRACE.randomSeconds,
      },
      rescheduleReconnectAllowanceSeconds: options.rescheduleReconnectAllowanceSeconds,
      onBackgroundError: (error, what) => logger.warn({ err: error }, `${what} failed`),
      deployInstanceTimeoutMs: options.deployInstanceTimeoutMs,
      deployIntervalCheckMs: options.deployIntervalCheckMs,
      operationsKept: options.operationsKept,
    });
    // Before serving: operations a dead master left running are failed first, queued ones resume.
    await core.operationRunner.start();
    core.deployWatchers.start();
    stopOperations = async () => {
      await core.reconciler.stop();
      await core.instanceCatalog.stop();
      await core.deployWatchers.stop();
      await core.operationRunner.stop();
    };
    await core.reconciler.start();
    await core.instanceCatalog.start();
    const bootstrap = await bootstrapAdmin(core, options);
    host = await createHttpHost({
      faces: createMasterFaces(core, { agentLink: options.agentLink }),
      fallbackFace: FALLBACK_FACE,
      logger,
      onDrain: () => core.blockingQueries.close(),
    });
    const address = await host.listen({ host: options.host, port: options.port });
    core.cluster.advertise(advertiseAddress(options.host, address.port));
    await core.consulAgent.start({ host: advertiseHost(options.host), port: address.port });
    host.markReady();

    let closing: Promise<void> | undefined;
    let devAgent: DevAgent | undefined;
    const started = host;
    master = {
      url: `http://${hostPort(connectHost(options.host), address.port)}`,
      dataDir: options.dataDir,
      databasePath,
      host: started,
      core,
      close() {
        closing ??= (async () => {
          logger.info("shutting down");
          try {
            await devAgent?.close();
            core.consulAgent.stop();
            await started.close();
          } finally {
            await stopOperations();
            await store.close();
          }
          logger.info("stopped");
        })();
        return closing;
      },
    };
    print(`Berth ${options.dev ? "dev master" : "master"} listening on ${master.url}`);
    print(`Data directory: ${options.dataDir}`);
    const devToken = bootstrap.kind === "dev" ? await core.jwt.issue(bootstrap.user) : undefined;
    for (const line of adminBannerLines(bootstrap, master.url, devToken)) print(line);
    for (const line of consulAcl.banner) print(line);
    if (options.devAgent) {
      devAgent = await startDevAgent({
        grids: core.grids,
        masterUrl: master.url,
        dataDir: options.dataDir,
        logger,
        agent: options.devAgent,
      });
      for (const line of devAgent.banner) print(line);
    }
    return master;
  } catch (error) {
    await host?.close();
    await stopOperations();
    await store.close();
    throw error;
  }
}

/** Makes sure an admin can get in: creates one from BERTH_ADMIN_PASSWORD or for dev mode, or readies the setup code. */
function bootstrapAdmin(core: CoreServices, options: MasterOptions): Promise<AdminBootstrap> {
  const password = options.adminPassword === "" ? undefined : options.adminPassword;
  return core.adminSetup.bootstrap({ dev: options.dev, password }).catch((error: unknown) => {
    if (error instanceof ValidationError)
      throw new ConfigError(`invalid BERTH_ADMIN_PASSWORD: ${fieldsText(error.fields)}`);
    throw error;
  });
}
