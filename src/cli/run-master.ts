import type { MasterSettings } from "../config/master-settings.ts";
import { closeOnSignals } from "../master/shutdown-signals.ts";
import { startMaster } from "../master/start-master.ts";

/** Runs a master in the foreground until SIGINT/SIGTERM; resolves with the process exit code. */
export async function runMaster(settings: MasterSettings, dev: boolean): Promise<number> {
  let exitCode = 0;
  const master = await startMaster({
    ...settings,
    dev,
    onFatal: () => {
      exitCode = 1;
    },
  });
  await closeOnSignals(master);
  return exitCode;
}
