import pino from "pino";
import { type Collected, decodeCollect } from "../broker/agent-wire.js";
import { publishOn } from "../broker/api/agent-routes.js";
import { rpcMethod } from "../broker/api/rpc-methods.js";
import { toFault } from "../broker/api/xmlrpc-route.js";
import { BrokerClient, BrokerUnreachableError } from "../broker/client.js";
import { BrokerService } from "../broker/service.js";
import type { BrokerStatus } from "../broker/status.js";
import type { XmlRpcValue } from "../broker/xmlrpc/types.js";
import { decodeWhiteboard, encodeGlobalBlock } from "../storage/whiteboard/index.js";
import { type SimBrokerEnvDeps, simBrokerEnv } from "./broker-env.js";

export interface SimBrokerProcessDeps extends Omit<SimBrokerEnvDeps, "log"> {
  /** for the timeline */
  event: (text: string) => void;
}

/**
 * ovirt-ha-broker on a simulated host: the real BrokerService (its StorageCycle, its
 * MonitorManager and monitors, its status) on the host's simulated environment
 * (broker-env.ts). The agent reaches it through `client`, the real BrokerClient whose
 * calls run the real XML-RPC method table in-process instead of over the socket. A
 * stopped broker refuses every call (ECONNREFUSED); a started one begins empty, as a
 * restarted daemon does.
 */
export class SimBrokerProcess {
  private service: BrokerService | undefined;
  readonly client: BrokerClient;
  /** the timeline shows the first failed read of a run and the recovery */
  private readFailing = false;

  constructor(private readonly d: SimBrokerProcessDeps) {
    this.client = new InProcessBrokerClient(
      `/sim/host${d.hostId}/broker.socket`,
      () => this.service,
      () => new Promise((resolve) => d.time.after(0, resolve)),
    );
  }

  get up(): boolean {
    return this.service !== undefined;
  }

  start(): void {
    if (this.service) return;
    this.readFailing = false;
    const log = this.logger();
    this.service = new BrokerService({
      hostId: this.d.hostId,
      timing: this.d.timing,
      env: simBrokerEnv({ ...this.d, log }),
      decode: decodeWhiteboard,
      encodeGlobal: encodeGlobalBlock,
      log,
    });
    this.service.start();
  }

  stop(): void {
    const svc = this.service;
    this.service = undefined;
    void svc?.stop();
  }

  /** put_stats as `he-ha maintenance --mode=global` sends it (the global block). */
  queue(hostId: number, block: Buffer): void {
    this.service?.putStats(hostId, block);
  }

  /** The broker's log as the timeline shows it: storage reads failing and recovering. */
  private logger() {
    return pino(
      { level: "info", base: null, timestamp: false },
      {
        write: (line: string) => {
          const msg = (JSON.parse(line) as { msg?: string }).msg ?? "";
          if (msg.startsWith("cannot read the whiteboard") && !this.readFailing) {
            this.readFailing = true;
            this.d.event("broker: cannot read the whiteboard");
          } else if (msg === "whiteboard readable again" && this.readFailing) {
            this.readFailing = false;
            this.d.event("broker: whiteboard readable again");
          }
        },
      },
    );
  }
}

/**
 * BrokerClient over the XML-RPC method table in this process: each call runs the same
 * handler the socket's route runs (parameter checks, faults), and /v1/status is the
 * service's own document through JSON.
 */
class InProcessBrokerClient extends BrokerClient {
  constructor(
    socketPath: string,
    private readonly service: () => BrokerService | undefined,
    private readonly hop: () => Promise<void>,
  ) {
    super(socketPath, { keepAlive: false });
  }

  private running(): BrokerService {
    const svc = this.service();
    if (svc === undefined) throw new BrokerUnreachableError(this.socketPath, "ECONNREFUSED");
    return svc;
  }

  override async call(method: string, params: readonly XmlRpcValue[] = []): Promise<XmlRpcValue> {
    // a call crosses the event loop, as over the socket: what the broker had already
    // scheduled for now (a monitor's first probe) runs before it is answered
    await this.hop();
    const svc = this.running();
    const m = rpcMethod(method);
    if (m === undefined) throw toFault(new Error(`method "${method}" is not supported`));
    try {
      // the agent runs as the broker's user: every method is allowed, as over the socket
      return await m.call(svc, [...params]);
    } catch (e) {
      throw toFault(e);
    }
  }

  override async status(): Promise<BrokerStatus> {
    await this.hop();
    return JSON.parse(JSON.stringify(this.running().status())) as BrokerStatus;
  }

  /** GET /v1/agent/collect: the service's document through JSON, decoded as the client does */
  override async collect(): Promise<Collected> {
    await this.hop();
    return decodeCollect(JSON.parse(JSON.stringify(this.running().collect())));
  }

  /** POST /v1/agent/publish: the route's own handler (put_stats, then push_hosts_state) */
  override async publish(hostId: number, block: Buffer, alive: readonly number[]): Promise<void> {
    await this.hop();
    await publishOn(this.running(), {
      host_id: hostId,
      block: block.toString("base64"),
      alive: [...alive],
    });
  }
}
