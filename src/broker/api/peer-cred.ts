import type { Socket } from "node:net";
import koffi from "koffi";

/** The credentials of the process at the other end of a unix socket (struct ucred). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_SIZE = 12;

type GetSockOpt = (fd: number, level: number, opt: number, out: object, len: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function native(): GetSockOpt {
  if (getsockopt) return getsockopt;
  const libc = koffi.load("libc.so.6");
  koffi.struct("he_ha_ucred", { pid: "int32_t", uid: "uint32_t", gid: "uint32_t" });
  getsockopt = libc.func(
    "int getsockopt(int fd, int level, int optname, _Out_ he_ha_ucred *optval, _Inout_ uint32_t *optlen)",
  ) as unknown as GetSockOpt;
  return getsockopt;
}

const cache = new WeakMap<Socket, PeerCred | null>();

/**
 * SO_PEERCRED of an accepted unix-socket connection: who connected, as the kernel saw
 * it at connect() (Node has no API for it; one getsockopt on the socket's fd through
 * koffi, a non-blocking call). Cached per connection; undefined when the socket has no
 * fd any more or is not a unix socket.
 */
export function peerCred(socket: Socket): PeerCred | undefined {
  const hit = cache.get(socket);
  if (hit !== undefined) return hit ?? undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  let cred: PeerCred | null = null;
  if (typeof fd === "number" && fd >= 0) {
    const out = { pid: 0, uid: 0, gid: 0 };
    const len = [UCRED_SIZE];
    if (native()(fd, SOL_SOCKET, SO_PEERCRED, out, len) === 0 && len[0] === UCRED_SIZE) cred = out;
  }
  cache.set(socket, cred);
  return cred ?? undefined;
}
