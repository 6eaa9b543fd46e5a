#!/usr/bin/env node
import { startBroker } from "../broker/daemon.js";
import { parseBrokerArgs } from "../common/daemon-cli.js";
import { daemonLogger, exitFatal } from "../common/daemon-process.js";
import { notifyReady, notifyStopping, startWatchdog } from "../common/systemd-notify.js";
import { versionLine } from "../common/version.js";
import { brokerReports } from "../doctor/broker-reports.js";

const NAME = "ovirt-ha-broker";

async function main(): Promise<void> {
  const args = parseBrokerArgs(process.argv.slice(2));
  // an unhandled rejection is logged: the broker never dies of one bad request or probe
  const log = daemonLogger(NAME, args);
  log.info({ version: versionLine(NAME), root: args.root }, "starting");

  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker({
      root: args.root,
      log,
      // unset or empty: hosted-engine.conf socket_group, else kvm
      socketGroup: process.env.HE_HA_SOCKET_GROUP,
      // he-ha explain's and he-ha doctor's reports, served on the broker's socket
      reports: brokerReports,
    });
  } catch (e) {
    return exitFatal(log, NAME, "cannot start the broker", e);
  }

  const stopWatchdog = startWatchdog(() => true);
  await notifyReady(`serving ${broker.socketPath}`);

  let exiting = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, "signal received, stopping");
    stopWatchdog();
    const force = setTimeout(() => {
      log.error("clean stop took more than 30 s; exiting");
      process.exit(1);
    }, 30_000);
    force.unref();
    void notifyStopping()
      .then(() => broker.stop())
      .then(
        () => process.exit(0),
        (e) => {
          log.error({ err: e as Error }, "error while stopping");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

void main();
