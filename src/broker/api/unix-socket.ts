import { chmod, chown, lstat, mkdir, readFile, unlink } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import type { Logger } from "../../common/log.js";

export class SocketInUseError extends Error {
  override name = "SocketInUseError";
}

/** true when something accepts connections on the unix socket at `socketPath` */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * Makes the socket's directory and removes a stale socket file left by a broker that
 * died. A socket that still answers belongs to a running broker: SocketInUseError.
 */
export async function prepareSocketPath(socketPath: string, log: Logger): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (st.isSocket() && (await socketAnswers(socketPath))) {
    throw new SocketInUseError(
      `${socketPath}: another ovirt-ha-broker is already serving this socket`,
    );
  }
  await unlink(socketPath);
  log.info({ socket: socketPath }, "removed stale broker socket");
}

/**
 * The group the socket is given: the daemon's explicit choice (HE_HA_SOCKET_GROUP) first,
 * then hosted-engine.conf `socket_group`, else `kvm` (behaviour.md §7). Empty counts as
 * unset.
 */
export function chooseSocketGroup(
  explicit: string | undefined,
  fromConf: string | undefined,
): string {
  return explicit?.trim() || fromConf?.trim() || "kvm";
}

/** The gid of a group name from /etc/group (under `root`), undefined when unknown. */
export async function groupId(name: string, root = "/"): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(root, "etc/group"), "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [g, , gid] = line.split(":");
    if (g === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Mode 0660 and, when the group exists, that group (behaviour.md §7: kvm on real hosts). */
export async function secureSocket(
  socketPath: string,
  group: string | undefined,
  log: Logger,
): Promise<void> {
  await chmod(socketPath, 0o660);
  if (!group) return;
  const gid = await groupId(group);
  if (gid === undefined) {
    log.warn(
      { socket: socketPath, group },
      "socket group does not exist; keeping the default group",
    );
    return;
  }
  try {
    await chown(socketPath, -1, gid);
  } catch (e) {
    log.warn({ socket: socketPath, group, err: e as Error }, "cannot give the socket to its group");
  }
}
