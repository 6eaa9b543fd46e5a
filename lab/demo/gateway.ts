import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";

/**
 * A simulated host's network position: a TCP "gateway" on loopback that the host's
 * broker probes (`network_test=tcp`). Cutting the host's network closes the listener
 * and every open connection, so the real TCP probe fails exactly as it would when the
 * host's uplink goes away; restoring it listens again on the same port.
 */
export class Gateway {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((sock) => {
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
      sock.on("error", () => sock.destroy());
      sock.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
