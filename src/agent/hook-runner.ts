import type { PostStartHook } from "../protocol/instance-spec.ts";
import type { ContainerRuntime } from "./container-runtime.ts";

/** What the hooks of one container start did. */
export interface HookProgress {
  /** Hooks that exited 0, in order. */
  readonly ran: readonly string[];
  /** `<name>: exit <code>: <output>` of the hook that failed (the last one tried), else null. */
  readonly error: string | null;
}

/** Hook output in a report: the tail, where a failing command explains itself. */
const HOOK_OUTPUT_CHARS = 1000;

/**
 * Runs a container's post_start hooks in order, each as `/bin/sh -c <cmd>` through the engine's
 * exec (argv, never a host shell), and stops at the first that fails (non-zero exit, timeout, or
 * an exec the engine refuses). `onProgress` hears after every hook; `isCancelled` is asked before
 * each one, so a container that went away runs no further hooks.
 */
export async function runPostStartHooks(
  runtime: ContainerRuntime,
  containerId: string,
  hooks: readonly PostStartHook[],
  options: {
    readonly timeoutMs: number;
    readonly isCancelled: () => boolean;
    readonly onProgress: (progress: HookProgress) => void;
  },
): Promise<HookProgress> {
  const ran: string[] = [];
  for (const hook of hooks) {
    if (options.isCancelled()) break;
    let failure: string | null = null;
    try {
      const result = await runtime.exec(containerId, ["/bin/sh", "-c", hook.cmd], options.timeoutMs);
      if (result.exitCode === null) failure = `timed out after ${options.timeoutMs / 1000} s: ${tail(result.output)}`;
      else if (result.exitCode !== 0) failure = `exit ${result.exitCode}: ${tail(result.output)}`;
    } catch (error) {
      failure = `could not run: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (failure !== null) {
      const progress = { ran: [...ran], error: `${hook.name}: ${failure}` };
      options.onProgress(progress);
      return progress;
    }
    ran.push(hook.name);
    options.onProgress({ ran: [...ran], error: null });
  }
  return { ran, error: null };
}

function tail(output: string): string {
  const trimmed = output.trim();
  return trimmed.length <= HOOK_OUTPUT_CHARS ? trimmed : `…${trimmed.slice(-HOOK_OUTPUT_CHARS)}`;
}
