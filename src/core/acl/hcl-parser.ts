import { Worker } from "node:worker_threads";

/** The outcome of parsing one HCL (or JSON) document. */
export type HclParseResult =
  | { readonly ok: true; readonly value: unknown }
  /** line and column are 0 when the parser did not give a position. */
  | { readonly ok: false; readonly line: number; readonly column: number; readonly message: string };

/** The messages exchanged with the worker. */
export interface HclParserRequest {
  readonly id: number;
  readonly text: string;
}
export type HclParserReply =
  | { readonly id: number; readonly json: unknown }
  | { readonly id: number; readonly error: string };

export interface HclParserOptions {
  /** A parse taking longer is abandoned and the worker replaced. */
  readonly timeoutMs?: number;
}

/** "unable to parse JSON: At 4:2: object expected closing RBRACE got: EOF" — the parser's wording, whatever the input. */
const POSITIONED_ERROR = /^(?:unable to parse JSON: )?At (\d+):(\d+): ([\s\S]*)$/;

/**
 * HCL1 (HashiCorp's configuration language, a superset of JSON) parsed off the event loop: the
 * parser is slow on pathological input and can crash, so it runs in a worker thread, one
 * document at a time, that is killed and replaced when a parse overruns or breaks it.
 */
export class HclParser {
  readonly #timeoutMs: number;
  /** The worker once it has loaded the parser; undefined until needed and after it stopped. */
  #worker: Promise<Worker> | undefined;
  #nextId = 1;
  /** Parses run one after another, so a slow one times out alone. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: HclParserOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  parse(text: string): Promise<HclParseResult> {
    const result = this.#queue.then(() => this.#parseNow(text));
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Stops the worker; a later parse starts a new one. */
  async close(): Promise<void> {
    const starting = this.#worker;
    this.#worker = undefined;
    await (await starting?.catch(() => undefined))?.terminate();
  }

  async #parseNow(text: string): Promise<HclParseResult> {
    const ready = this.#ready();
    const worker = await ready;
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<HclParseResult>();
    const finish = (): void => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      worker.unref();
    };
    const onMessage = (reply: HclParserReply): void => {
      if (reply.id !== id) return;
      finish();
      resolve("json" in reply ? { ok: true, value: reply.json } : positioned(reply.error));
    };
    const onExit = (): void => {
      finish();
      reject(new Error("the HCL parser worker stopped unexpectedly"));
    };
    const timer = setTimeout(() => {
      finish();
      if (this.#worker === ready) this.#worker = undefined;
      void worker.terminate();
      resolve({ ok: false, line: 0, column: 0, message: `parsing took longer than ${this.#timeoutMs} ms` });
    }, this.#timeoutMs);
    worker.on("message", onMessage);
    worker.on("exit", onExit);
    // Hold the process open only while a parse is under way.
    worker.ref();
    worker.postMessage({ id, text } satisfies HclParserRequest);
    return promise;
  }

  #ready(): Promise<Worker> {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL("./hcl-parser-worker.ts", import.meta.url));
    // The worker speaks first once the parser is loaded, so its start-up is not timed as a parse.
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.once("message", () => resolve(worker));
      worker.once("exit", () => reject(new Error("the HCL parser worker could not start")));
    });
    // A crash is reported through "exit"; an unhandled "error" event would take the master down.
    worker.on("error", () => {});
    worker.on("exit", () => {
      if (this.#worker === ready) this.#worker = undefined;
    });
    ready.catch(() => {});
    this.#worker = ready;
    return ready;
  }
}

function positioned(error: string): HclParseResult {
  const match = POSITIONED_ERROR.exec(error);
  if (!match) return { ok: false, line: 0, column: 0, message: error };
  return { ok: false, line: Number(match[1]), column: Number(match[2]), message: match[3] ?? "" };
}

/** One parser (one worker thread) for the whole process: every master in it shares the worker while parses are rare. */
export const sharedHclParser = new HclParser();
