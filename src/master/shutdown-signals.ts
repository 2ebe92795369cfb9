/** Something that shuts down gracefully. */
export interface Closable {
  close(): Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Closes the target gracefully on the first SIGINT or SIGTERM; a second signal exits at once.
 * Resolves once the target has closed because of a signal.
 */
export function closeOnSignals(target: Closable, onSignal?: (signal: string) => void): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      // The operator insists: stop waiting for in-flight requests.
      process.exit(130);
    }
    received = true;
    onSignal?.(signal);
    target.close().then(() => {
      for (const name of SIGNALS) process.off(name, handler);
      resolve();
    }, reject);
  };
  for (const name of SIGNALS) process.on(name, handler);
  return promise;
}
