import type { QueryResult } from "../blocking/blocking-query-service.ts";
import { BadRequestError } from "../errors/bad-request-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { SERF_HEALTH_CHECK } from "./catalog-lookup.ts";
import type { CheckDefinition, CheckStatus, HealthCheck, Indexed, ServiceInstance } from "./catalog-record.ts";
import type { CatalogService, CheckRegistration, ServiceRegistration } from "./catalog-service.ts";
import { truncateOutput } from "./check-probes.ts";
import type { CheckRunner } from "./check-runner.ts";

/** The service every Consul server registers for itself, and so does the master. */
export const CONSUL_SERVICE = "consul";

/** A check as an agent registration gives it: the agent fills in what is missing. */
export interface AgentCheckInput {
  /** Default: "service:<service id>" (with ":<n>" when a service has several), or the name. */
  readonly id?: string;
  /** Default for a service's check: "Service '<name>' check". */
  readonly name?: string;
  readonly notes: string;
  /** Default: critical for a new check; an existing one keeps its status. */
  readonly status?: CheckStatus;
  readonly definition: CheckDefinition;
}

/** Where the master's agent is and what it may do. */
export interface LocalAgentOptions {
  readonly dc: string;
  readonly node: string;
  /** Script checks run programs on the master; off unless the operator enables them. */
  readonly scriptChecks: boolean;
}

/** The master's address, known once its listener is up. */
export interface AgentAddress {
  readonly host: string;
  readonly port: number;
}

export const SCRIPT_CHECKS_DISABLED =
  "Scripts are disabled on this agent; to enable, start the master with --consul-script-checks enabled (BERTH_CONSUL_SCRIPT_CHECKS=enabled)";

/**
 * The master's own Consul agent: the master is a node (a server) of its default datacenter, with
 * the `serfHealth` check passing and the `consul` service. Services and checks registered with the
 * agent are the catalog entries of that node; the agent runs their checks (CheckRunner).
 */
export class LocalAgentService {
  readonly #catalog: CatalogService;
  readonly #runner: CheckRunner;
  readonly #options: LocalAgentOptions;
  #address: AgentAddress | undefined;

  constructor(catalog: CatalogService, runner: CheckRunner, options: LocalAgentOptions) {
    this.#catalog = catalog;
    this.#runner = runner;
    this.#options = options;
  }

  get datacenter(): string {
    return this.#options.dc;
  }

  get nodeName(): string {
    return this.#options.node;
  }

  /** Where the agent (the master) listens; only after start. */
  get address(): AgentAddress {
    if (!this.#address) throw new Error("LocalAgentService.start() has not run");
    return this.#address;
  }

  get scriptChecksEnabled(): boolean {
    return this.#options.scriptChecks;
  }

  /** The prefix whose changes may change the agent's services and checks (for blocking queries). */
  watchPrefix(): string {
    return this.#catalog.watchPrefix(this.#options.dc);
  }

  /** Registers the master's node (serfHealth passing, the consul service) and starts its checks. */
  async start(address: AgentAddress): Promise<void> {
    this.#address = address;
    await this.#catalog.register(this.#options.dc, {
      node: this.#options.node,
      address: address.host,
      taggedAddresses: { lan: address.host, wan: address.host },
      service: {
        id: CONSUL_SERVICE,
        name: CONSUL_SERVICE,
        tags: null,
        address: "",
        port: address.port,
        meta: {},
        enableTagOverride: false,
      },
      checks: [
        {
          id: SERF_HEALTH_CHECK,
          name: "Serf Health Status",
          status: "passing",
          notes: "",
          output: "Agent alive and reachable",
          serviceId: "",
          definition: null,
        },
      ],
    });
    await this.#runner.start({ dc: this.#options.dc, node: this.#options.node });
  }

  /** Stops running checks (the master is shutting down). */
  stop(): void {
    this.#runner.stop();
  }

  /** The services registered with the agent. */
  async services(): Promise<QueryResult<Indexed<ServiceInstance>[]>> {
    const { index, value } = await this.#catalog.nodeServices(this.#options.dc, this.#options.node);
    return { index, value: (value?.services ?? []).filter((service) => service.id !== CONSUL_SERVICE) };
  }

  /** The checks registered with the agent. */
  async checks(): Promise<QueryResult<Indexed<HealthCheck>[]>> {
    const { index, value } = await this.#catalog.nodeChecks(this.#options.dc, this.#options.node);
    return { index, value: value.filter((check) => check.id !== SERF_HEALTH_CHECK) };
  }

  /** The agent's service with this id; NotFoundError (as Consul words it) when there is none. */
  async service(id: string): Promise<Indexed<ServiceInstance>> {
    return findOrUnknown((await this.services()).value, id, "service");
  }

  /** The agent's check with this id; NotFoundError (as Consul words it) when there is none. */
  async check(id: string): Promise<Indexed<HealthCheck>> {
    return findOrUnknown((await this.checks()).value, id, "check");
  }

  /** Adds or replaces a service and its checks (checks it had before and no longer names go away). */
  async registerService(service: ServiceRegistration, checks: readonly AgentCheckInput[]): Promise<void> {
    this.#assertRunnable(checks);
    const registrations = checks.map((check, i): CheckRegistration => {
      const suffix = checks.length > 1 ? `:${i + 1}` : "";
      return {
        id: check.id || `service:${service.id}${suffix}`,
        name: check.name || `Service '${service.name}' check`,
        status: check.status,
        notes: check.notes,
        serviceId: service.id,
        definition: check.definition,
      };
    });
    const before = (await this.checks()).value.filter((check) => check.serviceId === service.id);
    await this.#catalog.register(this.#options.dc, {
      ...this.#nodeRegistration(),
      service,
      checks: registrations,
      replaceServiceChecks: true,
    });
    const kept = new Set(registrations.map((check) => check.id));
    for (const check of before) if (!kept.has(check.id)) this.#runner.cancel(check.id);
    for (const check of registrations) if (check.definition) this.#runner.run(check.id, check.definition);
  }

  /** Removes a service and its checks; NotFoundError for an unknown id. */
  async deregisterService(id: string): Promise<void> {
    await this.service(id);
    const checks = (await this.checks()).value.filter((check) => check.serviceId === id);
    await this.#catalog.deregister(this.#options.dc, { node: this.#options.node, serviceId: id });
    for (const check of checks) this.#runner.cancel(check.id);
  }

  /**
   * Adds or replaces a check, of the node (serviceId "") or of one of the agent's services.
   * `check.id` defaults to the name.
   */
  async registerCheck(check: AgentCheckInput & { readonly name: string }, serviceId: string): Promise<void> {
    this.#assertRunnable([check]);
    if (serviceId !== "" && !(await this.services()).value.some((service) => service.id === serviceId)) {
      throw new BadRequestError(`ServiceID ${goQuote(serviceId)} does not exist`);
    }
    const id = check.id || check.name;
    if (id === SERF_HEALTH_CHECK) throw new BadRequestError(`Check ID ${goQuote(id)} is reserved`);
    await this.#catalog.register(this.#options.dc, {
      ...this.#nodeRegistration(),
      checks: [{ ...check, id, serviceId }],
    });
    this.#runner.run(id, check.definition);
  }

  /** Removes a check; NotFoundError for an unknown id. */
  async deregisterCheck(id: string): Promise<void> {
    await this.check(id);
    await this.#catalog.deregister(this.#options.dc, { node: this.#options.node, checkId: id });
    this.#runner.cancel(id);
  }

  /** Sets a TTL check's status and output and restarts its clock. NotFoundError for an unknown id. */
  async updateTtl(id: string, status: CheckStatus, output: string): Promise<void> {
    const check = await this.check(id);
    if (check.definition?.kind !== "ttl")
      throw new BadRequestError(`CheckID ${goQuote(id)} does not have associated TTL`);
    const result = { status, output: truncateOutput(output) };
    await this.#catalog.updateCheck(this.#options.dc, this.#options.node, id, result, check.definition);
    this.#runner.resetTtl(id);
  }

  /** The master's node as a registration that leaves an existing node as it is. */
  #nodeRegistration(): { node: string; address: string; skipNodeUpdate: true } {
    return { node: this.#options.node, address: this.address.host, skipNodeUpdate: true };
  }

  #assertRunnable(checks: readonly AgentCheckInput[]): void {
    if (!this.#options.scriptChecks && checks.some((check) => check.definition.kind === "script")) {
      throw new BadRequestError(SCRIPT_CHECKS_DISABLED);
    }
  }
}

function findOrUnknown<T extends { readonly id: string }>(records: readonly T[], id: string, kind: string): T {
  const found = records.find((record) => record.id === id);
  if (!found) {
    throw new NotFoundError(
      `Unknown ${kind} ID ${goQuote(id)}. Ensure that the ${kind} ID is passed, not the ${kind} name.`,
    );
  }
  return found;
}

/** A string quoted as Go's %q does for plain text (Consul's messages use it). */
function goQuote(text: string): string {
  return JSON.stringify(text);
}
