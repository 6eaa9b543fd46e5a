import { BrokerClient } from "../broker/client.js";
import type { Logger } from "../common/log.js";
import type { Finding } from "./checks.js";

/**
 * The agent's start-up doctor run: once the cluster has been watched for `afterSeconds`
 * (liveness and the monitors' first values known), asks the local broker for
 * `he-ha doctor`'s findings and logs each warning and error. Never a refusal to run: a
 * broker that does not answer is logged at debug level and the agent goes on.
 */
export function doctorAtStart(socketPath: string, log: Logger, afterSeconds: number): void {
  const timer = setTimeout(() => {
    void run(socketPath, log.child({ component: "doctor" }));
  }, afterSeconds * 1000);
  timer.unref();
}

async function run(socketPath: string, log: Logger): Promise<void> {
  const broker = new BrokerClient(socketPath, { timeoutMs: 30_000 });
  try {
    const { findings } = await broker.getJson<{ findings: Finding[] }>("/v1/doctor");
    let problems = 0;
    for (const f of findings) {
      if (f.severity === "info") continue;
      problems += 1;
      log.warn({ check: f.check, severity: f.severity, fix: f.fix }, `doctor: ${f.message}`);
    }
    log.info({ problems, findings: findings.length }, "doctor checks done (he-ha doctor)");
  } catch (e) {
    log.debug({ err: e as Error }, "doctor checks not run: the broker did not answer");
  } finally {
    broker.close();
  }
}
