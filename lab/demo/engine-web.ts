import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The engine application inside the simulated engine VM. The test driver's VMs run no
 * guest, so the demo serves the engine's health page itself, on loopback, answering
 * like the real engine: 200 "DB Up!Welcome to Health Status!" while the VM runs on some
 * host and has finished booting, 503 otherwise. The brokers' engine-health monitors
 * query it over real HTTP exactly as they query a real engine.
 */
export class EngineWeb {
  private server: Server | undefined;
  private up = false;
  private hung = false;
  port = 0;

  /** whether the engine answers healthy (the cluster sets this from its VM sampling) */
  setUp(up: boolean): void {
    this.up = up;
  }

  /** a hung engine: its VM runs but the health page answers 500 (scenario hung-engine) */
  setHung(hung: boolean): void {
    this.hung = hung;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/ovirt-engine/services/health") && this.hung) {
        res.writeHead(500, { "content-type": "text/plain" }).end("DB Down!");
      } else if (req.url?.startsWith("/ovirt-engine/services/health") && this.up) {
        res.writeHead(200, { "content-type": "text/plain" }).end("DB Up!Welcome to Health Status!");
      } else if (req.url?.startsWith("/ovirt-engine/services/health")) {
        res.writeHead(503, { "content-type": "text/plain" }).end("engine not running");
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** host:port to put in hosted-engine.conf as the engine `fqdn` */
  get fqdn(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
