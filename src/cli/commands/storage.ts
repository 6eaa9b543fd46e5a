import type { Command } from "commander";
import type { StorageInitOptions } from "../actions/storage.js";
import { group, withJson } from "../program.js";

// storage initialisation (sanlock, tar, the OVF reader) loads in the action, not at start-up

export function register(program: Command): void {
  const storage = group(program, "storage", "hosted-engine shared storage");
  withJson(
    storage
      .command("init")
      .description(
        "create a VDSM-shaped file storage domain: dom_md (metadata, ids = lockspace <sdUUID>, leases, xleases, inbox, outbox), the HA volumes (metadata, lockspace hosted-engine, configuration archive, optional OVF_STORE), the engine disk volume, each volume with its .meta and initialised .lease; prints the hosted-engine.conf lines",
      )
      .requiredOption("--domain <dir>", "storage domain directory to populate")
      .option(
        "--host-conf <file>",
        "hosted-engine.conf to store in the archive (UUID keys are filled in)",
      )
      .option("--vm-conf <file>", "vm.conf to store in the archive (default: generated from --ovf)")
      .option("--ovf <file>", "engine VM OVF: generates vm.conf and an OVF_STORE volume")
      .option("--io-timeout <seconds>", "sanlock io timeout written in both lockspaces", "10")
      .option(
        "--sector-size <bytes>",
        "the domain's sector size, 512 or 4096 (4K storage): dom_md/metadata BLOCK_SIZE, sanlock -Z",
        "512",
      )
      .option(
        "--alignment <size>",
        "sanlock lease alignment, 1M (512 or 4K), 2M, 4M, 8M (4K only): dom_md/metadata ALIGNMENT, sanlock -A",
        "1M",
      )
      .option(
        "--device <area=device...>",
        "a block device standing in for an LV of a block domain (area: ids, leases, xleases, he-metadata, he-lockspace); with leases, volume leases go on it at (100 + slot) x alignment",
      )
      .option(
        "--sd-uuid <uuid>",
        "storage domain UUID (default: the engine disk's domainID in vm.conf, else the directory name if it is a UUID, else new)",
      ),
  ).action(async (opts: StorageInitOptions) =>
    (await import("../actions/storage.js")).storageInit(opts),
  );
  withJson(
    storage
      .command("connect")
      .description(
        "connect the storage domain of hosted-engine.conf: through VDSM on VDSM hosts (StoragePool.connectStorageServer, as hosted-engine --connect-storage), else mount it where VDSM would (reusing a mount already there) and check dom_md/metadata names sdUUID",
      ),
  ).action(async (opts: { json?: boolean }) =>
    (await import("../actions/storage-connect.js")).storageConnect(opts),
  );
  withJson(
    storage
      .command("disconnect")
      .description(
        "disconnect the storage domain: through VDSM on VDSM hosts (StoragePool.disconnectStorageServer, as hosted-engine --disconnect-storage), else unmount it, only when he-ha mounted it",
      ),
  ).action(async (opts: { json?: boolean }) =>
    (await import("../actions/storage-connect.js")).storageDisconnect(opts),
  );
}
