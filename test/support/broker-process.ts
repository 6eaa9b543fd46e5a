import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { productBin } from "../../lab/children.js";
import {
  isRunning,
  pollUntil,
  spawnTracked,
  type TrackedChild,
  terminate,
  unixSocketAccepts,
} from "../../lab/standins/processes.js";
import { BrokerClient } from "../../src/broker/client.js";
import { haPaths } from "../../src/common/paths.js";

export interface BrokerStart {
  /** the broker's environment; HE_HA_ROOT is set to the host root (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** --log-level (default debug) */
  logLevel?: string;
  /** the broker executable (default this checkout's build; the RPM test runs the packaged one) */
  bin?: string;
  /**
   * when the broker counts as started: `socket` (something accepts on its socket, the
   * default) or `stats` (it answers get_stats: its storage is connected)
   */
  ready?: "socket" | "stats";
  /** the client's request timeout (default 10 s) */
  clientTimeoutMs?: number;
}

/** A running ovirt-ha-broker process of one host root and a client on its socket. */
export interface BrokerProcess {
  root: string;
  socket: string;
  /** `<root>/broker.log`: stdout and stderr, appended */
  logFile: string;
  proc: TrackedChild;
  client: BrokerClient;
  /** closes the client; SIGTERM (SIGKILL after `graceMs`, default 10 s); the exit code or signal */
  stop(graceMs?: number): Promise<number | string>;
  log(): Promise<string>;
}

/**
 * Starts the compiled ovirt-ha-broker for host root `root` (as a whole process, logging
 * to `<root>/broker.log`) and resolves once it is ready; throws with its log when it
 * exits first, or after 30 s. The one "start a broker" of the tests.
 */
export async function startBrokerProcess(
  root: string,
  opts: BrokerStart = {},
): Promise<BrokerProcess> {
  const socket = haPaths(root).brokerSocket;
  const logFile = path.join(root, "broker.log");
  await mkdir(root, { recursive: true });
  const proc = await spawnTracked(
    process.execPath,
    [
      opts.bin ?? productBin("ovirt-ha-broker"),
      "--log-level",
      opts.logLevel ?? "debug",
      "--no-log-pretty",
    ],
    { logFile, env: { ...(opts.env ?? process.env), HE_HA_ROOT: root } },
  );
  const log = () => readFile(logFile, "utf8").catch(() => "");
  const client = new BrokerClient(socket, { timeoutMs: opts.clientTimeoutMs ?? 10_000 });
  const ready =
    opts.ready === "stats"
      ? () =>
          client.getStats().then(
            () => true,
            () => false,
          )
      : () => unixSocketAccepts(socket);
  try {
    await pollUntil(
      `ovirt-ha-broker answering on ${socket}`,
      async () => {
        if (!isRunning(proc))
          throw new Error(
            `ovirt-ha-broker exited at start (${await proc.exited}):\n${await log()}`,
          );
        return ready();
      },
      30_000,
      100,
    );
  } catch (e) {
    client.close();
    await terminate(proc, 2000);
    throw e;
  }
  return {
    root,
    socket,
    logFile,
    proc,
    client,
    log,
    async stop(graceMs = 10_000) {
      client.close();
      if (isRunning(proc)) await terminate(proc, graceMs);
      return proc.exited;
    },
  };
}
