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

/**
 * heart-beat the python client asks for: outgoing 0 × 1.2, incoming 30000 × 0.8
 * (stomp.DEFAULT_OUTGOING/DEFAULT_INCOMING with GRACE_PERIOD_FACTOR 0.2)
 */
export const CLIENT_HEART_BEAT = "0,24000";

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
