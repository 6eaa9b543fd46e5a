#!/usr/bin/env node
import { writeKillScript } from "../agent/kill-path.js";
import { createAgent, loadAgentSetup, runCleanup } from "../agent/main.js";
import { parseAgentArgs } from "../common/daemon-cli.js";
import { daemonLogger, exitAfterFlush, exitFatal } from "../common/daemon-process.js";
import {
  notifyReady,
  notifyStatus,
  notifyStopping,
  startWatchdog,
} from "../common/systemd-notify.js";
import { versionLine } from "../common/version.js";
import { doctorAtStart } from "../doctor/agent-start.js";

const NAME = "ovirt-ha-agent";

async function main(): Promise<void> {
  const args = parseAgentArgs(process.argv.slice(2));
  const log = daemonLogger(NAME, args);

  let setup: Awaited<ReturnType<typeof loadAgentSetup>>;
  try {
    setup = await loadAgentSetup(args.root, args.hostId);
  } catch (e) {
    return exitFatal(
      log,
      NAME,
      "hosted-engine HA is not configured or its configuration is invalid",
      e,
    );
  }
  const hostLog = log.child({ host_id: setup.hostConf.hostId });

  if (args.cleanup) {
    try {
      const r = await runCleanup(setup, hostLog, args.forceCleanup);
      (r.code === 0 ? hostLog.info.bind(hostLog) : hostLog.error.bind(hostLog))(r.message);
      process.stderr.write(`${NAME}: ${r.message}\n`);
      return exitAfterFlush(r.code);
    } catch (e) {
      return exitFatal(hostLog, NAME, "metadata cleanup failed", e);
    }
  }

  hostLog.info({ version: versionLine(NAME), root: args.root }, "starting");
  try {
    await writeKillScript(setup.paths.runDir, setup.hostConf.libvirtUri, setup.hostConf.vmId);
  } catch (e) {
    return exitFatal(
      hostLog,
      NAME,
      `cannot write the engine VM kill script in ${setup.paths.runDir}`,
      e,
    );
  }
  const abort = new AbortController();
  let stopWatchdog = () => {};
  const agent = createAgent(
    setup,
    log,
    () => {
      stopWatchdog = startWatchdog(() => true);
      void notifyReady(`host ${setup.hostConf.hostId}: starting`);
    },
    (text) => void notifyStatus(`host ${setup.hostConf.hostId}: ${text}`),
  );
  // he-ha doctor's findings as warnings once the cluster has been watched a while
  const t = setup.agentConf.timing;
  doctorAtStart(setup.paths.brokerSocket, log, t.host_alive_timeout + 2 * t.loop_delay);
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    hostLog.info({ signal }, "signal received: publishing AgentStopped and leaving the lockspace");
    stopWatchdog();
    void notifyStopping();
    const force = setTimeout(() => {
      hostLog.error("clean stop took more than 60 s; exiting");
      process.exit(1);
    }, 60_000);
    force.unref();
    abort.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const exit = await agent.run(abort.signal);
  (exit.code === 0 ? hostLog.info.bind(hostLog) : hostLog.error.bind(hostLog))(
    { code: exit.code },
    `agent stopped: ${exit.reason}`,
  );
  if (exit.code !== 0) process.stderr.write(`${NAME}: ${exit.reason}\n`);
  await exitAfterFlush(exit.code);
}

void main();
