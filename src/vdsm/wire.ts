/**
 * VDSM's wire constants (one home): JSON-RPC 2.0 over STOMP 1.2 on TLS, as vdsm's
 * `lib/yajsonrpc/stomp.py`, `stompclient.py` and `lib/vdsm/client.py` speak it, and
 * the host files `lib/vdsm/common/pki.py` names.
 */

/** VDSM's JSON-RPC port on every oVirt host (vdsm.client DEFAULT_PORT) */
export const VDSM_PORT = 54321;

/** where requests go (stomp.SUBSCRIPTION_ID_REQUEST; SimpleClient's request queue) */
export const REQUEST_DESTINATION = "jms.topic.vdsm_requests";

/** STOMP version VDSM accepts (anything else gets an ERROR frame "Version unsupported") */
export const STOMP_VERSION = "1.2";

/** how long the python client waits for anything from VDSM before it reconnects (stomp.DEFAULT_INCOMING) */
export const INCOMING_HEART_BEAT_MS = 30_000;

/** stomp.GRACE_PERIOD_FACTOR: the client asks for heart-beats that much more often than it needs them */
export const HEART_BEAT_GRACE = 0.2;

/**
 * The `heart-beat` header of CONNECT, as stompclient.handle_connect writes it: outgoing
 * 0 × 1.2 (the client sends none), incoming × 0.8: `0,24000` for 30 s.
 */
export function clientHeartBeat(incomingMs = INCOMING_HEART_BEAT_MS): string {
  return `0,${Math.trunc(incomingMs * (1 - HEART_BEAT_GRACE))}`;
}

/**
 * How long the client waits for a frame or heart-beat before it counts the connection
 * lost, from CONNECTED's `heart-beat: sx,sy` (VDSM's stompserver answers `cy,cx` of the
 * client's header, each at least 1000 ms): none when VDSM sends none (sx 0), else the
 * client's incoming interval (VDSM sends every sx = 0.8 × that), or sx with the grace
 * period when VDSM said it sends less often. A malformed header counts as none.
 */
export function heartBeatTimeoutMs(
  serverHeader: string | undefined,
  incomingMs: number,
): number | null {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(serverHeader ?? "");
  const sx = m ? Number(m[1]) : 0;
  if (sx === 0 || incomingMs === 0) return null;
  return Math.max(incomingMs, Math.ceil(sx * (1 + HEART_BEAT_GRACE)));
}

/** STOMP header names VDSM uses */
export const Header = {
  acceptVersion: "accept-version",
  heartBeat: "heart-beat",
  destination: "destination",
  contentType: "content-type",
  contentLength: "content-length",
  replyTo: "reply-to",
  subscription: "subscription",
  id: "id",
  ack: "ack",
  flowId: "ovirtCorrelationId",
} as const;

/** VDSM's key, certificate and CA (vdsm.common.pki), relative to the host root */
export const VDSM_PKI = {
  key: "etc/pki/vdsm/keys/vdsmkey.pem",
  cert: "etc/pki/vdsm/certs/vdsmcert.pem",
  ca: "etc/pki/vdsm/certs/cacert.pem",
} as const;

/** VDSM error codes the hosted-engine code acts on (vdsm.common.exception) */
export const VdsmCode = {
  /** NoSuchVM: "Virtual machine does not exist" */
  noSuchVm: 1,
  /** VMExists: "Virtual machine already exists" */
  vmExists: 4,
  /** RecoveryInProgress: VDSM is still recovering after a restart (util.py waits on it) */
  recovering: 99,
} as const;

/** VDSM's VM status strings (vdsm.virt.vmstatus) */
export const VmStatus = {
  down: "Down",
  up: "Up",
  poweringUp: "Powering up",
  poweringDown: "Powering down",
  paused: "Paused",
  waitForLaunch: "WaitForLaunch",
  restoringState: "Restoring state",
  migrationSource: "Migration Source",
  migrationDestination: "Migration Destination",
  savingState: "Saving State",
} as const;

/** VDSM's exit reasons the hosted-engine code acts on (vdsm.virt.vmexitreason) */
export const VmExitReason = {
  lostQemuConnection: 2,
  migrationSucceeded: 4,
  userShutdown: 7,
} as const;
