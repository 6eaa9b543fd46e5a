/**
 * Real GlusterFS for tests and the demo. glusterd is one per machine (port 24007, state
 * in /var/lib/glusterd): `GlusterService.ensure()` uses the one that runs, or starts it
 * (daemonised, its pid file ours) and then stops it on `release()` only when it started
 * it and no volume is left, so parallel users never lose theirs. Every user makes its
 * own one-brick volume under a unique name with its own brick directory, and deletes it.
 *
 *   const gd = await GlusterService.ensure("/tmp/x/glusterd");
 *   const vol = await GlusterVolume.create({ name: uniqueVolumeName("hetest"), brickDir });
 *   // mount -t glusterfs localhost:/<name> <mount point>   (src/storage/connect)
 *   await vol.stop();  await vol.start();   // a real storage fault and its recovery
 *   await vol.destroy();  await gd.release();
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { isAlive, pollUntil, runCommand } from "./processes.js";

const GLUSTER_TIMEOUT_MS = 60_000;

/** Runs `gluster --mode=script <args>`; retries while another transaction holds the lock. */
export async function gluster(args: string[]): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const r = await runCommand(
      "gluster",
      ["--mode=script", ...args],
      process.env,
      GLUSTER_TIMEOUT_MS,
    );
    if (r.code === 0) return r.output;
    const busy = /Another transaction is in progress|Locking failed|try again/i.test(r.output);
    if (!busy || attempt >= 20)
      throw new Error(`gluster ${args.join(" ")}: exit ${r.code}: ${r.output.trim()}`);
    await new Promise((res) => setTimeout(res, 250 + Math.random() * 500));
  }
}

async function glusterdAnswers(): Promise<boolean> {
  const r = await runCommand("gluster", ["--mode=script", "volume", "list"], process.env, 10_000);
  return r.code === 0;
}

export class GlusterService {
  private constructor(
    /** pid of the glusterd this process started; null = it was running already */
    readonly startedPid: number | null,
  ) {}

  /** Uses the machine's glusterd, starting it (state in /var/lib/glusterd) when none answers. */
  static async ensure(dir: string): Promise<GlusterService> {
    if (await glusterdAnswers()) return new GlusterService(null);
    await mkdir(dir, { recursive: true });
    const pidFile = join(dir, "glusterd.pid");
    const r = await runCommand(
      "glusterd",
      ["-p", pidFile, "--log-file", join(dir, "glusterd.log")],
      process.env,
      30_000,
    );
    if (r.code !== 0) {
      // another user started one at the same moment: theirs serves us
      if (await glusterdAnswers()) return new GlusterService(null);
      throw new Error(
        `glusterd failed to start (exit ${r.code}): ${r.output.trim()}; see ${dir}/glusterd.log`,
      );
    }
    await pollUntil("glusterd to answer `gluster volume list`", glusterdAnswers, 30_000, 200);
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    return new GlusterService(Number.isInteger(pid) && pid > 0 ? pid : null);
  }

  /** Stops glusterd when this process started it and no volume is left on it. */
  async release(): Promise<"stopped" | "left-running"> {
    const pid = this.startedPid;
    if (pid === null || !isAlive(pid)) return "left-running";
    const list = await gluster(["volume", "list"]).catch(() => "?");
    if (!/No volumes present/.test(list)) return "left-running";
    process.kill(pid, "SIGTERM");
    await pollUntil("glusterd to exit", async () => !isAlive(pid), 15_000, 100).catch(() =>
      process.kill(pid, "SIGKILL"),
    );
    return "stopped";
  }
}

/** A volume name unique on this machine: `<prefix>-<8 hex>` (gluster allows [A-Za-z0-9_-]). */
export function uniqueVolumeName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export class GlusterVolume {
  private constructor(
    readonly name: string,
    readonly brickDir: string,
  ) {}

  /** `server:/volume` as hosted-engine.conf's storage= names it */
  get spec(): string {
    return `localhost:/${this.name}`;
  }

  /** Creates and starts a one-brick volume on this machine. */
  static async create(opts: { name: string; brickDir: string }): Promise<GlusterVolume> {
    await mkdir(opts.brickDir, { recursive: true });
    await gluster(["volume", "create", opts.name, `${hostname()}:${opts.brickDir}`, "force"]);
    const vol = new GlusterVolume(opts.name, opts.brickDir);
    try {
      await vol.start();
      // O_DIRECT through FUSE (sanlock, the whiteboard) needs the brick to open files with it
      await gluster(["volume", "set", opts.name, "network.remote-dio", "disable"]);
      await gluster(["volume", "set", opts.name, "performance.strict-o-direct", "on"]);
    } catch (e) {
      await vol.destroy().catch(() => undefined);
      throw e;
    }
    return vol;
  }

  /** `volume start`: its brick process comes up; mounted clients reconnect by themselves. */
  async start(): Promise<void> {
    await gluster(["volume", "start", this.name, "force"]);
  }

  /** `volume stop`: the brick process ends; every mount answers ENOTCONN. */
  async stop(): Promise<void> {
    await gluster(["volume", "stop", this.name, "force"]);
  }

  /** Stops and deletes the volume and removes its brick directory. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await gluster(["volume", "delete", this.name]).catch((e: Error) => {
      if (!/does not exist/.test(e.message)) throw e;
    });
    await rm(this.brickDir, { recursive: true, force: true });
  }
}
