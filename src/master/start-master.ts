import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { EmbeddedStore } from "../backends/embedded/embedded-store.ts";
import type { LogLevel } from "../config/log-level.ts";
import { createCoreServices } from "../core/core-services.ts";
import { createHttpHost, type HttpHost } from "../http/http-host.ts";
import { createLogger } from "../http/http-logger.ts";
import type { StateStore } from "../store/state-store.ts";
import { advertiseAddress, connectHost, hostPort } from "./advertise-address.ts";
import { createMasterFaces, FALLBACK_FACE } from "./master-faces.ts";

export interface MasterOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Holds berth.db; created when missing. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Started by `berth dev` (one machine, loopback, local data). */
  readonly dev: boolean;
  /** Where the startup banner goes; stdout by default. */
  readonly print?: (line: string) => void;
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
  /** Graceful shutdown: drain HTTP, then close the store. Idempotent. */
  close(): Promise<void>;
}

/** Opens the store, builds the core services and faces, and starts serving. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logger = createLogger(options.logLevel);
  await mkdir(options.dataDir, { recursive: true });
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
  try {
    const core = await createCoreServices(store);
    host = await createHttpHost({
      faces: createMasterFaces(core),
      fallbackFace: FALLBACK_FACE,
      logger,
      onDrain: () => core.blockingQueries.close(),
    });
    const address = await host.listen({ host: options.host, port: options.port });
    core.cluster.advertise(advertiseAddress(options.host, address.port));
    host.markReady();

    let closing: Promise<void> | undefined;
    const started = host;
    master = {
      url: `http://${hostPort(connectHost(options.host), address.port)}`,
      dataDir: options.dataDir,
      databasePath,
      host: started,
      close() {
        closing ??= (async () => {
          logger.info("shutting down");
          try {
            await started.close();
          } finally {
            await store.close();
          }
          logger.info("stopped");
        })();
        return closing;
      },
    };
    print(`Berth ${options.dev ? "dev master" : "master"} listening on ${master.url}`);
    print(`Data directory: ${options.dataDir}`);
    return master;
  } catch (error) {
    await host?.close();
    await store.close();
    throw error;
  }
}
