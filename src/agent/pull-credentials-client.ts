import type { AgentMessage, RegistryCredentials } from "../protocol/link-messages.ts";

/** How long the master may take to answer; then the pull fails (and is tried again later). */
const ANSWER_TIMEOUT_MS = 15_000;

interface PendingRequest {
  readonly image: string;
  readonly resolve: (credentials: RegistryCredentials | null) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The agent's side of registry.credentials.request: asks the master for the login to an image's
 * registry right before each pull, and keeps nothing — the answer goes to that one pull. Without a
 * link there is nobody to ask, and the pull fails rather than going out anonymously (a private
 * image would fail with a misleading "unauthorized"); the converger tries it again later.
 */
export class PullCredentialsClient {
  readonly #send: (message: AgentMessage) => boolean;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, PendingRequest>();
  #lastId = 0;

  /** `send` puts a message on the link, returning false when the link is down. */
  constructor(send: (message: AgentMessage) => boolean, timeoutMs = ANSWER_TIMEOUT_MS) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  /** The login for pulling `image`, or null for an anonymous pull. */
  request(image: string): Promise<RegistryCredentials | null> {
    const requestId = String(++this.#lastId);
    const { promise, resolve, reject } = Promise.withResolvers<RegistryCredentials | null>();
    if (!this.#send({ type: "registry.credentials.request", request_id: requestId, image })) {
      reject(noAnswer(image, "the link to the master is down"));
      return promise;
    }
    const timer = setTimeout(
      () => this.#settle(requestId, (pending) => pending.reject(noAnswer(image, "the master did not answer in time"))),
      this.#timeoutMs,
    );
    this.#pending.set(requestId, { image, resolve, reject, timer });
    return promise;
  }

  /** The master's answer (a registry.credentials message). */
  answer(requestId: string, credentials: RegistryCredentials | null): void {
    this.#settle(requestId, (pending) => pending.resolve(credentials));
  }

  /** The link went down: answers to the requests sent on it will never come. */
  linkDown(): void {
    for (const requestId of [...this.#pending.keys()]) {
      this.#settle(requestId, (pending) => pending.reject(noAnswer(pending.image, "the link to the master went down")));
    }
  }

  #settle(requestId: string, settle: (pending: PendingRequest) => void): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    settle(pending);
  }
}

function noAnswer(image: string, why: string): Error {
  return new Error(`cannot pull ${image}: ${why}, so its registry login is unknown; trying again later`);
}
