import { CommanderError } from "commander";
import { ConfigError } from "../config/config-error.ts";
import { type CliContext, createBerthProgram } from "./berth-program.ts";

/** Exit code for a command line that cannot be run as given (bad flag, bad value). */
export const USAGE_EXIT_CODE = 2;

/** Runs the command line; resolves with the process exit code. */
export async function runCli(args: readonly string[], context: Omit<CliContext, "setExitCode">): Promise<number> {
  let exitCode = 0;
  const program = createBerthProgram({ ...context, setExitCode: (code) => (exitCode = code) });
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (error) {
    // Commander has already printed its message (or the help/version it was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    if (error instanceof ConfigError) {
      context.err(`berth: ${error.message}\n`);
      return USAGE_EXIT_CODE;
    }
    context.err(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
