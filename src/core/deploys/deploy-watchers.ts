import type { StateStore } from "../../store/state-store.ts";
import type { OperationService } from "../operations/operation-service.ts";
import { IntervalRedeployer } from "./interval-redeployer.ts";
import { OneshotRecorder } from "./oneshot-recorder.ts";
import { RedeploySubmitter } from "./redeploy-submitter.ts";
import { SecretRedeployer } from "./secret-redeployer.ts";

export interface DeployWatchersOptions {
  /** How often services with a deploy interval are checked; 10 s when absent. */
  readonly intervalCheckMs?: number;
}

/** What the master does about deploys by itself: interval redeploys, secret-change redeploys, oneshot hook memory. */
export class DeployWatchers {
  readonly interval: IntervalRedeployer;
  readonly secrets: SecretRedeployer;
  readonly oneshots: OneshotRecorder;

  constructor(store: StateStore, operations: OperationService, options: DeployWatchersOptions = {}) {
    const submitter = new RedeploySubmitter(operations);
    this.interval = new IntervalRedeployer(store, submitter, { checkMs: options.intervalCheckMs });
    this.secrets = new SecretRedeployer(store, submitter);
    this.oneshots = new OneshotRecorder(store);
  }

  start(): void {
    this.oneshots.start();
    this.secrets.start();
    this.interval.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.interval.stop(), this.secrets.stop(), this.oneshots.stop()]);
  }
}
