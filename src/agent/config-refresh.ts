import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HostConfig } from "../common/host-config.js";
import type { Logger } from "../common/log.js";
import {
  THROTTLE_INTERVALS,
  type ThrottledLogger,
  throttledLogger,
} from "../common/log-throttle.js";
import type { HaPaths } from "../common/paths.js";
import { readConfArchive } from "../storage/archive/conf-archive.js";
import { ovfToVmConfOffThread } from "../storage/ovf/off-thread.js";
import {
  findOvfStoreVolumes,
  type OvfStoreVolume,
  readOvfFromStore,
} from "../storage/ovf/store.js";
import { parseVmConf } from "../storage/ovf/vmconf.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import { pythonCtime } from "../storage/whiteboard/ctime.js";

/** The agent's view of its configuration after a refresh. */
export interface ConfigState {
  /** the last good vm.conf (without the generated header), null before the first */
  vmConfText: string | null;
  vmConf: VmConf | null;
  vmConfSource: "ovf" | "archive" | "local" | null;
  /** monotonic seconds (integer) of the last good vm.conf refresh, 0 before the first */
  refreshTime: number;
  /** the configuration comes from the shared archive (read at least once) */
  confOnSharedStorage: boolean;
}

export interface ConfigRefreshOptions {
  conf: HostConfig;
  paths: HaPaths;
  /** the storage domain directory and the configuration volume ("" = not on shared storage) */
  volumes: { domain: string; conf: string };
  log: Logger;
  /** monotonic seconds */
  clock: () => number;
  /**
   * the OVF_STORE volumes, in the order to try them; default: the `.meta` files of the
   * domain directory (hosts without VDSM). VDSM hosts ask VDSM (ovf_store.py's way).
   */
  ovfStores?: OvfStoreSource;
}

/** Finds the OVF_STORE volumes of the storage domain (their readable paths). */
export type OvfStoreSource = () => Promise<OvfStoreVolume[]>;

/** Header the original writes in front of a generated vm.conf. */
export function vmConfHeader(wallSeconds: number): string {
  return (
    "# Editing the hosted engine VM is only possible via the manager UI/API\n" +
    `# This file was generated at ${pythonCtime(wallSeconds)}\n\n`
  );
}

/** Writes `text` atomically unless the file already holds it (`same` decides). */
async function writeIfChanged(
  file: string,
  text: string,
  same: (old: string) => boolean = (old) => old === text,
): Promise<boolean> {
  // unreadable or missing: written anew below
  const old = await readFile(file, "utf8").catch(() => null);
  if (old !== null && same(old)) return false;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
  return true;
}

/**
 * Keeps hosted-engine.conf, broker.conf and vm.conf fresh from shared storage
 * (behaviour.md §8, §9): the configuration archive is cached into the state directory,
 * vm.conf is regenerated from the engine VM's OVF in the OVF_STORE when that changed,
 * else taken from the archive. A broken archive or OVF keeps the last good vm.conf;
 * the reason is logged (throttled).
 */
export class ConfigRefresher {
  private readonly o: ConfigRefreshOptions;
  private readonly tlog: ThrottledLogger;
  private lastOvf: { ovf: string; vmConf: string } | undefined;
  private s: ConfigState = {
    vmConfText: null,
    vmConf: null,
    vmConfSource: null,
    refreshTime: 0,
    confOnSharedStorage: false,
  };

  constructor(opts: ConfigRefreshOptions) {
    this.o = opts;
    this.tlog = throttledLogger(opts.log, { intervalMs: THROTTLE_INTERVALS.ovf });
  }

  get state(): ConfigState {
    return this.s;
  }

  async refresh(): Promise<ConfigState> {
    let candidate: { text: string; source: ConfigState["vmConfSource"] } | null = null;
    if (this.o.volumes.conf === "") {
      candidate = await this.localVmConf();
    } else {
      const archiveVmConf = await this.refreshArchive();
      const ovf = await this.vmConfFromOvfStore();
      if (ovf !== null) candidate = { text: ovf, source: "ovf" };
      else if (archiveVmConf !== null) candidate = { text: archiveVmConf, source: "archive" };
    }
    if (candidate !== null) await this.adopt(candidate.text, candidate.source);
    return this.s;
  }

  private async localVmConf(): Promise<{ text: string; source: "local" } | null> {
    const file = this.o.conf.raw.get("conf");
    if (!file) return null;
    try {
      return { text: await readFile(file, "utf8"), source: "local" };
    } catch (e) {
      this.tlog.error("vmconf-local", { file, err: e as Error }, "cannot read the local vm.conf");
      return null;
    }
  }

  /** Reads the archive, caches its hosted-engine.conf and broker.conf; its vm.conf or null. */
  private async refreshArchive(): Promise<string | null> {
    const volume = this.o.volumes.conf;
    try {
      const archive = await readConfArchive(volume);
      this.tlog.reset("archive");
      this.s = { ...this.s, confOnSharedStorage: true };
      const { paths } = this.o;
      if (await writeIfChanged(paths.sharedHostConfCache, archive.members["hosted-engine.conf"])) {
        this.o.log.info({ file: paths.sharedHostConfCache }, "shared hosted-engine.conf cached");
      }
      if (await writeIfChanged(paths.brokerConf, archive.members["broker.conf"])) {
        this.o.log.info({ file: paths.brokerConf }, "broker.conf cached from shared storage");
      }
      await writeIfChanged(paths.vmConfFallback, archive.members["vm.conf"]);
      return archive.members["vm.conf"];
    } catch (e) {
      this.tlog.error(
        "archive",
        { volume, err: e as Error },
        "cannot read the configuration archive: keeping the last good configuration",
      );
      return null;
    }
  }

  /** vm.conf generated from `<vmid>.ovf` in an OVF_STORE volume, or null (reason logged). */
  private async vmConfFromOvfStore(): Promise<string | null> {
    let volumes: string[];
    try {
      const find = this.o.ovfStores ?? (() => findOvfStoreVolumes(this.o.volumes.domain));
      volumes = (await find()).map((v) => v.path);
    } catch (e) {
      this.tlog.error(
        "ovf",
        { err: e as Error },
        "failed scanning for OVF_STORE, falling back to the archive vm.conf",
      );
      return null;
    }
    if (volumes.length === 0) {
      this.tlog.warn(
        "ovf",
        { domain: this.o.volumes.domain },
        "no OVF_STORE volume yet, using the archive vm.conf (add the first data domain for regular VMs)",
      );
      return null;
    }
    const errors: string[] = [];
    for (const volume of volumes) {
      try {
        const text = await this.convert(await readOvfFromStore(volume, this.o.conf.vmId));
        this.tlog.reset("ovf");
        return text;
      } catch (e) {
        errors.push(`${volume}: ${(e as Error).message}`);
      }
    }
    this.tlog.error(
      "ovf",
      { errors },
      `cannot get vm.conf from the OVF_STORE (${errors.join("; ")}), falling back to the archive vm.conf`,
    );
    return null;
  }

  /**
   * vm.conf of an OVF, converted off the event loop in a worker; the same OVF as last
   * time (the agent reads it every loop) reuses the last result.
   */
  private async convert(ovf: string): Promise<string> {
    if (this.lastOvf?.ovf === ovf) return this.lastOvf.vmConf;
    const vmConf = await ovfToVmConfOffThread(ovf);
    this.lastOvf = { ovf, vmConf };
    return vmConf;
  }

  /** Validates a vm.conf candidate and makes it the current one (written when changed). */
  private async adopt(text: string, source: ConfigState["vmConfSource"]): Promise<void> {
    let vmConf: VmConf;
    try {
      // the same text every loop as a rule: parsed once
      vmConf =
        text === this.s.vmConfText && this.s.vmConf !== null
          ? this.s.vmConf
          : parseVmConf(text, `vm.conf from ${source}`);
    } catch (e) {
      this.tlog.error(
        "vmconf-parse",
        { source, err: e as Error },
        "vm.conf is invalid: keeping the last good one",
      );
      return;
    }
    this.tlog.reset("vmconf-parse");
    const now = this.o.clock();
    const file = this.o.paths.vmConf;
    try {
      const header = vmConfHeader(Date.now() / 1000);
      const sameBody = (old: string) => old.startsWith("# ") && old.endsWith(`\n\n${text}`);
      if (await writeIfChanged(file, header + text, sameBody)) {
        this.o.log.info({ file, source }, "vm.conf refreshed");
      }
    } catch (e) {
      this.tlog.error("vmconf-write", { file, err: e as Error }, "cannot write vm.conf");
      return;
    }
    this.s = {
      ...this.s,
      vmConfText: text,
      vmConf,
      vmConfSource: source,
      refreshTime: Math.trunc(now),
    };
  }
}
