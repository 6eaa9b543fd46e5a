import type {
  ConnectOutcome,
  DisconnectOutcome,
  StorageCheck,
  StorageConnector,
} from "./connector.js";
import { StorageConnectError } from "./errors.js";
import { verifyDomain } from "./verify.js";

/**
 * `domain_path` in hosted-engine.conf: the domain directory is made available by
 * someone else (VDSM, an admin's mount, a test); he-ha only checks it, never mounts or
 * unmounts anything.
 */
export class PresetDomainConnector implements StorageConnector {
  constructor(
    readonly domainDir: string,
    private readonly sdUUID: string,
  ) {}

  get description(): string {
    return `domain_path ${this.domainDir}`;
  }

  check(): Promise<StorageCheck> {
    return verifyDomain(this.domainDir, this.sdUUID, false);
  }

  async connect(): Promise<ConnectOutcome> {
    const c = await this.check();
    if (c.state === "ok") return "already-connected";
    throw new StorageConnectError(
      `${this.description} (set by hand, not mounted by he-ha): ${c.why}`,
    );
  }

  async disconnect(): Promise<DisconnectOutcome> {
    return "not-ours";
  }
}
