import { randomUUID } from "node:crypto";
import type { JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import type { QueryResult } from "../blocking/blocking-query-service.ts";
import { BadRequestError } from "../errors/bad-request-error.ts";
import { ConflictError } from "../errors/conflict-error.ts";

/** A Consul user event, as stored and listed. */
export type UserEvent = {
  readonly id: string;
  readonly name: string;
  /** The payload in base64; null when the event carries none. */
  readonly payload: string | null;
  /** Regular expressions naming the nodes, services and tags the event is meant for ("" for all). */
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
  readonly version: number;
  /** Lamport time: the event's place in the datacenter's sequence of events, from 1. */
  readonly ltime: number;
};

export interface FireRequest {
  readonly name: string;
  readonly payload: Buffer | undefined;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
}

/** Consul agents keep the most recent events only. */
export const EVENT_BUFFER_SIZE = 256;
/** Largest payload, bytes (Consul's gossip bounds events; this bound is above any it allows). */
export const MAX_EVENT_PAYLOAD = 9 * 1024;
const USER_EVENT_VERSION = 1;
const MAX_ATTEMPTS = 10;

const eventsPrefix = (dc: string): string => `/consul/${dc}/events/`;
const clockKey = (dc: string): string => `/consul/${dc}/event-clock`;
/** Zero-padded, so that key order is firing order. */
const eventKey = (dc: string, ltime: number): string => `${eventsPrefix(dc)}${String(ltime).padStart(16, "0")}`;

/**
 * User events of each datacenter: fired through the Consul face, kept in a ring of the last 256,
 * listed (and long-polled) by name. The master is the one agent that sees them, so every event is
 * kept whatever its node, service and tag filters; the filters travel with it.
 */
export class EventService {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** The prefix whose changes may change an event list (for blocking queries). */
  watchPrefix(dc: string): string {
    return eventsPrefix(dc);
  }

  async fire(dc: string, request: FireRequest): Promise<UserEvent> {
    validate(request);
    const payload = request.payload?.length ? request.payload.toString("base64") : null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const clock = await this.#store.get(clockKey(dc));
      const ltime = ((clock?.value as { ltime?: number } | undefined)?.ltime ?? 0) + 1;
      const { kvs } = await this.#store.range(eventsPrefix(dc), { prefix: true, keysOnly: true });
      const expired = kvs.slice(0, Math.max(0, kvs.length + 1 - EVENT_BUFFER_SIZE));
      const event: UserEvent = {
        id: randomUUID(),
        name: request.name,
        payload,
        nodeFilter: request.nodeFilter,
        serviceFilter: request.serviceFilter,
        tagFilter: request.tagFilter,
        version: USER_EVENT_VERSION,
        ltime,
      };
      const result = await this.#store.txn({
        compare: [{ key: clockKey(dc), target: "mod_revision", op: "==", value: clock?.mod_revision ?? 0 }],
        success: [
          { type: "put", key: clockKey(dc), value: { ltime } },
          { type: "put", key: eventKey(dc, ltime), value: event as JsonValue },
          ...expired.map((kv: KeyValue) => ({ type: "delete" as const, key: kv.key })),
        ],
      });
      if (result.succeeded) return event;
    }
    throw new ConflictError("events are being fired concurrently; try again");
  }

  /**
   * The kept events, oldest first, of one name when given. The index is the revision of the newest
   * event listed (Consul: "maps to the newest event that matches the query").
   */
  async list(dc: string, name?: string): Promise<QueryResult<UserEvent[]>> {
    const { kvs } = await this.#store.range(eventsPrefix(dc), { prefix: true });
    const matching = kvs.filter((kv) => name === undefined || (kv.value as UserEvent).name === name);
    return { index: matching.at(-1)?.mod_revision ?? 0, value: matching.map((kv) => kv.value as UserEvent) };
  }
}

function validate(request: FireRequest): void {
  if (request.name === "") throw new BadRequestError("User event missing name");
  if (request.tagFilter !== "" && request.serviceFilter === "") {
    throw new BadRequestError("Cannot provide tag filter without service filter");
  }
  for (const [label, pattern] of [
    ["node", request.nodeFilter],
    ["service", request.serviceFilter],
    ["tag", request.tagFilter],
  ] as const) {
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new BadRequestError(`Invalid ${label} filter: ${(error as Error).message}`);
    }
  }
  if ((request.payload?.length ?? 0) > MAX_EVENT_PAYLOAD) {
    throw new BadRequestError(`User event payload exceeds the limit of ${MAX_EVENT_PAYLOAD} bytes`);
  }
}
