import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pollUntil } from "../../lab/standins/processes.js";
import { TEST_TIMING, timingSection } from "../../lab/timing.js";
import type { BrokerClient } from "../../src/broker/client.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { OVF_TEST } from "../fixtures/ovf-fixtures.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { runHeHa } from "./harness.js";

export const OVF = OVF_TEST;

/** `he-ha storage init` of the tests' OVF with io_timeout 1, JSON output, and `extra` options */
export function storageInitArgs(domain: string, hostConf: string, extra: string[] = []): string[] {
  return [
    "storage",
    "init",
    "--domain",
    domain,
    "--ovf",
    OVF,
    "--host-conf",
    hostConf,
    "--io-timeout",
    "1",
    ...extra,
    "--json",
  ];
}

/**
 * One simulated HA host: a file storage domain made by `he-ha storage init`, this host's
 * hosted-engine.conf under its own HE_HA_ROOT, and a real ovirt-ha-broker process on
 * its socket (storage cycle scaled down to 0.2 s).
 */
export interface BrokerHost {
  root: string;
  hostId: number;
  volumes: { metadata: string; lockspace: string; conf: string };
  confLines: Record<string, string>;
  socket: string;
  client: BrokerClient;
  brokerLog(): Promise<string>;
  stop(): Promise<void>;
}

/** A host root with a storage domain from `he-ha storage init` and hosted-engine.conf pointing at it; no daemon. */
export interface StorageHost {
  root: string;
  hostId: number;
  volumes: { metadata: string; lockspace: string; conf: string };
  confLines: Record<string, string>;
  /** the storage domain's UUID and directory */
  sdUUID: string;
  domain: string;
  /** the engine VM's disk: its volume lease guards the VM */
  engineDisk: { imageUUID: string; volumeUUID: string; path: string; leasePath: string };
  cleanup(): Promise<void>;
}

export async function makeStorageHost(hostId = 1): Promise<StorageHost> {
  const root = await tempDir("cli-storage");
  const cleanup = () => removeDir(root);
  try {
    const seed = path.join(root, "seed");
    await mkdir(seed);
    const base = `fqdn=engine.example.com\nhost_id=${hostId}\nstorage=nfs.example.com:/he\ndomainType=nfs\nnetwork_test=none\n`;
    await writeFile(path.join(seed, "hosted-engine.conf"), base);
    const domain = path.join(root, "storage", "he-domain");
    const init = await runHeHa(
      root,
      storageInitArgs(domain, path.join(seed, "hosted-engine.conf")),
    );
    if (init.code !== 0) throw new Error(`he-ha storage init failed: ${init.stderr}`);
    const result = JSON.parse(init.stdout) as {
      confLines: Record<string, string>;
      volumes: { metadata: { path: string }; lockspace: { path: string }; conf: { path: string } };
      sdUUID: string;
      domain: string;
      engineDisk: StorageHost["engineDisk"];
    };
    const paths = haPaths(root);
    await mkdir(path.dirname(paths.hostConf), { recursive: true });
    const lines = formatKeyValue(Object.entries(result.confLines));
    await writeFile(paths.hostConf, base + lines);
    await mkdir(path.dirname(paths.agentConf), { recursive: true });
    await writeFile(
      paths.agentConf,
      timingSection(
        { broker_storage_cycle: TEST_TIMING.broker_storage_cycle },
        "the tests' storage cycle (lab/timing.ts)",
      ),
    );
    return {
      root,
      hostId,
      volumes: {
        metadata: result.volumes.metadata.path,
        lockspace: result.volumes.lockspace.path,
        conf: result.volumes.conf.path,
      },
      confLines: result.confLines,
      sdUUID: result.sdUUID,
      domain: result.domain,
      engineDisk: result.engineDisk,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** `prepare` runs on the storage before the broker starts (e.g. to make it unreadable). */
export async function startBrokerHost(
  hostId = 1,
  prepare?: (storage: StorageHost) => Promise<void>,
  /** the broker executable (default: this checkout's build; the RPM test runs the packaged one) */
  brokerBin?: string,
): Promise<BrokerHost> {
  const storage = await makeStorageHost(hostId);
  await prepare?.(storage);
  let broker: BrokerProcess | undefined;
  try {
    broker = await startBrokerProcess(storage.root, {
      env: { ...process.env, HE_HA_SOCKET_GROUP: "" },
      logLevel: "warn",
      ready: "stats",
      clientTimeoutMs: 5000,
      ...(brokerBin ? { bin: brokerBin } : {}),
    });
    // a readable volume: wait for the first storage cycle, so every test sees the broker's real view
    if (!prepare) await waitForFirstRead(broker.client);
  } catch (e) {
    await broker?.stop();
    await storage.cleanup();
    throw e;
  }
  const b = broker;
  return {
    root: storage.root,
    hostId,
    volumes: storage.volumes,
    confLines: storage.confLines,
    socket: b.socket,
    client: b.client,
    brokerLog: b.log,
    async stop() {
      await b.stop();
      await storage.cleanup();
    },
  };
}

async function waitForFirstRead(client: BrokerClient): Promise<void> {
  await pollUntil(
    "the broker reading the metadata volume",
    async () => (await client.status()).storage.has_read,
    20_000,
  );
}

/** Waits until the broker's get_stats shows exactly `hostIds` (its storage cycle picked up direct writes). */
export async function waitForHosts(client: BrokerClient, hostIds: number[]): Promise<void> {
  const want = [...hostIds].sort((a, b) => a - b).join(",");
  let ids = "";
  await pollUntil(
    `the broker showing hosts [${want}]`,
    async () => {
      ids = [...(await client.getStats()).keys()].filter((k) => k !== 0).join(",");
      return ids === want;
    },
    20_000,
    100,
  ).catch(() => {
    throw new Error(`broker shows hosts [${ids}], expected [${want}]`);
  });
}
