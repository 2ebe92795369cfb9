import type { MasterSettings } from "../config/master-settings.ts";
import { closeOnSignals } from "../master/shutdown-signals.ts";
import { type MasterOptions, startMaster } from "../master/start-master.ts";

/** Runs a master in the foreground until SIGINT/SIGTERM (exit code 0) or a fatal store failure (1). */
export async function runMaster(
  settings: MasterSettings & Pick<MasterOptions, "masterKey" | "adminPassword" | "consulAclMasterToken" | "devAgent">,
  dev: boolean,
): Promise<number> {
  const fatal = Promise.withResolvers<number>();
  const starting = startMaster({ ...settings, dev, onFatal: () => fatal.resolve(1) });
  // Handle signals from the start: the banner is out before startMaster resolves, and a quick
  // Ctrl-C must still shut down gracefully rather than kill the process.
  const stopped = closeOnSignals({
    close: async () => (await starting.catch(() => undefined))?.close(),
  });
  await starting;
  return Promise.race([stopped.then(() => 0), fatal.promise]);
}
