import { z } from "zod";
import type { JsonValue } from "../../store/state-store.ts";
import type { OperationKindRegistry, OperationStep, StepContext } from "../operations/operation-kind-registry.ts";
import type { OperationRecord } from "../operations/operation-record.ts";
import { parseServiceId } from "../services/service-record.ts";
import { DeployFailedError } from "./deploy-failed-error.ts";
import { DEPLOY_KINDS } from "./deploy-kinds.ts";
import type { DeployPlan } from "./deploy-plan.ts";
import { DeployProgress } from "./deploy-progress.ts";
import type { ServiceDeployer } from "./service-deployer.ts";
import type { StackDeployer } from "./stack-deployer.ts";

const deployParams = z.object({
  service: z.string(),
  force: z.boolean().default(false),
  reason: z.string().nullable().default(null),
});
const scaleParams = z.object({ service: z.string(), instances: z.int().min(0) });
const serviceParams = z.object({ service: z.string() });
const stackParams = z.object({ stack: z.string() });

function parseParams<T>(schema: z.ZodType<T>, params: JsonValue, kind: string): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new DeployFailedError(`${kind}: invalid params ${JSON.stringify(params)}`);
  return parsed.data;
}

function nameOf(serviceId: string): string {
  return parseServiceId(serviceId)?.name ?? serviceId;
}

/**
 * The steps of one operation share one progress (events and result lines): made when the first
 * step runs, since the context comes with it.
 */
function progressOf() {
  let progress: DeployProgress | undefined;
  return (context: StepContext) => {
    progress ??= new DeployProgress(context);
    return progress;
  };
}

/** A step whose params turned out malformed: it fails with the reason instead of the kind failing to build. */
function invalidSteps(error: unknown): readonly OperationStep[] {
  return [
    {
      name: "Read the operation's parameters",
      run: async () => {
        throw error;
      },
    },
  ];
}

/** Steps of a service deploy: plan (nothing written yet), roll out, mark deployed. */
function deploySteps(
  deployer: ServiceDeployer,
  progress: (context: StepContext) => DeployProgress,
  service: string,
  force: boolean,
): OperationStep[] {
  const name = nameOf(service);
  let plan: DeployPlan | undefined;
  return [
    {
      name: `Plan deploy of ${name}`,
      run: async () => {
        plan = await deployer.plan(await deployer.begin(service, force));
      },
    },
    {
      name: `Update instances of ${name}`,
      // A rollout is not rolled back: what it wrote stays, and its events and result say what that was.
      run: async (context, signal) => deployer.rollOut(plan as DeployPlan, progress(context), signal),
    },
    { name: `Mark ${name} deployed`, run: async () => deployer.markDeployed(service) },
  ];
}

export interface DeployKindServices {
  readonly services: ServiceDeployer;
  readonly stacks: StackDeployer;
}

/** Registers the service and stack operation kinds (deploy-kinds.ts) on the runner's registry. */
export function registerDeployKinds(registry: OperationKindRegistry, { services, stacks }: DeployKindServices): void {
  const kind = <T>(
    name: string,
    stage: string,
    schema: z.ZodType<T>,
    steps: (params: T, progress: (context: StepContext) => DeployProgress) => OperationStep[],
    summary: (params: T) => string,
  ) =>
    registry.register(name, {
      stage,
      steps: (params: JsonValue) => {
        try {
          return steps(parseParams(schema, params, name), progressOf());
        } catch (error) {
          return invalidSteps(error);
        }
      },
      summary: (operation: OperationRecord) => {
        const parsed = schema.safeParse(operation.params);
        return parsed.success ? summary(parsed.data) : "done";
      },
    });

  kind(
    DEPLOY_KINDS.serviceDeploy,
    "Deploying service",
    deployParams,
    (params, progress) => deploySteps(services, progress, params.service, params.force),
    (params) => `deployed service ${params.service}`,
  );

  kind(
    DEPLOY_KINDS.serviceScale,
    "Scaling service",
    scaleParams,
    (params, progress) => {
      let previous: number | undefined;
      return [
        {
          name: `Scale ${nameOf(params.service)} to ${params.instances}`,
          run: async () => {
            previous = await services.scale(params.service, params.instances);
          },
          // The scale did not happen: the count goes back and the instances it added leave.
          compensate: async () => {
            if (previous === undefined)
              throw new Error("the previous instance count is unknown after a master restart");
            await services.undoScale(params.service, params.instances, previous);
          },
        },
        ...deploySteps(services, progress, params.service, false),
      ];
    },
    (params) => `scaled service ${params.service} to ${params.instances}`,
  );

  kind(
    DEPLOY_KINDS.serviceStart,
    "Starting service",
    serviceParams,
    (params, progress) => [
      {
        name: `Start ${nameOf(params.service)}`,
        run: (context, signal) => services.setRunState(params.service, "running", progress(context), signal),
      },
    ],
    (params) => `started service ${params.service}`,
  );

  kind(
    DEPLOY_KINDS.serviceStop,
    "Stopping service",
    serviceParams,
    (params, progress) => [
      {
        name: `Stop ${nameOf(params.service)}`,
        run: (context, signal) => services.setRunState(params.service, "stopped", progress(context), signal),
      },
    ],
    (params) => `stopped service ${params.service}`,
  );

  kind(
    DEPLOY_KINDS.serviceRestart,
    "Restarting service",
    serviceParams,
    (params, progress) => [
      {
        name: `Restart ${nameOf(params.service)}`,
        run: (context, signal) => services.restart(params.service, progress(context), signal),
      },
    ],
    (params) => `restarted service ${params.service}`,
  );

  kind(
    DEPLOY_KINDS.serviceRemove,
    "Removing service",
    serviceParams,
    (params, progress) => [
      {
        name: `Remove ${nameOf(params.service)}`,
        run: (context, signal) => services.remove(params.service, progress(context), signal),
      },
    ],
    (params) => `removed service ${params.service}`,
  );

  kind(
    DEPLOY_KINDS.stackDeploy,
    "Deploying stack",
    stackParams,
    (params, progress) => [
      {
        name: `Remove services dropped from ${params.stack}`,
        run: (context, signal) => stacks.removeDropped(params.stack, progress(context), signal),
      },
      {
        name: `Deploy services of ${params.stack}`,
        run: (context, signal) => stacks.deployServices(params.stack, progress(context), signal),
      },
    ],
    (params) => `deployed stack ${params.stack}`,
  );

  kind(
    DEPLOY_KINDS.stackRemove,
    "Removing stack",
    stackParams,
    (params, progress) => [
      {
        name: `Remove services of ${params.stack}`,
        run: (context, signal) => stacks.removeServices(params.stack, progress(context), signal),
      },
      { name: `Delete stack ${params.stack}`, run: () => stacks.deleteStack(params.stack) },
    ],
    (params) => `removed stack ${params.stack}`,
  );
}
