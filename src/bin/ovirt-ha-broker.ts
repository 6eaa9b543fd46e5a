#!/usr/bin/env node
import { startBroker } from "../broker/daemon.js";
import { parseBrokerArgs } from "../common/daemon-cli.js";
import { createLogger, resolveLogLevel } from "../common/log.js";
import {
  notifyReady,
  notifyStopping,
  setSystemdNotifyLogger,
  startWatchdog,
} from "../common/systemd-notify.js";
import { versionLine } from "../common/version.js";

const NAME = "ovirt-ha-broker";

async function main(): Promise<void> {
  const args = parseBrokerArgs(process.argv.slice(2));
  const log = createLogger({
    name: NAME,
    level: resolveLogLevel({ cli: args.logLevel }),
    ...(args.logPretty === undefined ? {} : { pretty: args.logPretty }),
  });
  setSystemdNotifyLogger(log);
  log.info({ version: versionLine(NAME), root: args.root }, "starting");

  // the broker never dies of one bad request or probe: log and carry on
  process.on("unhandledRejection", (reason) => {
    log.error(
      { err: reason instanceof Error ? reason.message : String(reason) },
      "unhandled rejection",
    );
  });

  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker({
      root: args.root,
      log,
      // unset or empty: hosted-engine.conf socket_group, else kvm
      socketGroup: process.env.HE_HA_SOCKET_GROUP,
    });
  } catch (e) {
    const msg = (e as Error).message;
    log.fatal({ err: msg, kind: (e as Error).name }, "cannot start the broker");
    process.stderr.write(`${NAME}: ${msg}\n`);
    // let pino flush the fatal line before exiting
    await new Promise((r) => setTimeout(r, 100));
    process.exit(1);
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
          log.error({ err: (e as Error).message }, "error while stopping");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

void main();
