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
        "create a complete file storage domain: metadata, initialised sanlock lockspace (+ VM lease area), configuration archive, optional OVF_STORE; prints the hosted-engine.conf lines",
      )
      .requiredOption("--domain <dir>", "storage domain directory to populate")
      .option(
        "--host-conf <file>",
        "hosted-engine.conf to store in the archive (UUID keys are filled in)",
      )
      .option("--vm-conf <file>", "vm.conf to store in the archive (default: generated from --ovf)")
      .option("--ovf <file>", "engine VM OVF: generates vm.conf and an OVF_STORE volume")
      .option("--io-timeout <seconds>", "sanlock io timeout written in the lockspace", "10")
      .option(
        "--sd-uuid <uuid>",
        "storage domain UUID (default: the directory name if it is a UUID, else new)",
      ),
  ).action(async (opts: StorageInitOptions) =>
    (await import("../actions/storage.js")).storageInit(opts),
  );
  withJson(
    storage
      .command("connect")
      .description(
        "connect the storage domain of hosted-engine.conf: mount it where VDSM would (reusing a mount already there) and check dom_md/metadata names sdUUID",
      ),
  ).action(async (opts: { json?: boolean }) =>
    (await import("../actions/storage-connect.js")).storageConnect(opts),
  );
  withJson(
    storage
      .command("disconnect")
      .description("unmount the storage domain, only when he-ha mounted it"),
  ).action(async (opts: { json?: boolean }) =>
    (await import("../actions/storage-connect.js")).storageDisconnect(opts),
  );
}
