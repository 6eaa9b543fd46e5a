import net from "node:net";
import { runBounded } from "../../common/bounded-command.js";

/**
 * One attempt of each network test of the original's network monitor. Every attempt
 * resolves true/false within its timeout (plus a small grace for the child process) and
 * never rejects; an aborted signal ends it early as a failure.
 */

/** True when the command exits 0 within the deadline. */
async function commandSucceeds(
  cmd: string,
  args: string[],
  deadlineMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  return (await runBounded(cmd, args, deadlineMs, signal)).code === 0;
}

/** `ping -c 1 -W <timeout> [-6] <addr>`; `-6` when the address has a colon, as the original. */
export function pingOnce(addr: string, timeoutS: number, signal: AbortSignal): Promise<boolean> {
  const args = ["-c", "1", "-W", String(Math.max(1, Math.ceil(timeoutS)))];
  if (addr.includes(":")) args.push("-6");
  args.push(addr);
  return commandSucceeds("ping", args, timeoutS * 1000 + 2000, signal);
}

/**
 * `dig +tries=1 +time=<timeout> +tcp` (a query for the root over TCP to the resolver of
 * /etc/resolv.conf, as the original), or to `server`/`port` when given.
 */
export function dnsOnce(
  timeoutS: number,
  signal: AbortSignal,
  server?: string,
  port?: number,
): Promise<boolean> {
  const args = ["+tries=1", `+time=${Math.max(1, Math.ceil(timeoutS))}`, "+tcp"];
  if (server !== undefined) args.push(`@${server}`);
  if (port !== undefined) args.push("-p", String(port));
  return commandSucceeds("dig", args, timeoutS * 1000 + 2000, signal);
}

/** A TCP connect to host:port within the timeout (the original ran `nc -z -w`). */
export function tcpOnce(
  host: string,
  port: number,
  timeoutS: number,
  signal: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const socket = net.connect({ host, port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(ok);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(onAbort, timeoutS * 1000);
    timer.unref();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}
