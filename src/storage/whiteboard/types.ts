/**
 * The shared whiteboard (metadata volume) of behaviour.md §3, as data. The codec in
 * this folder turns these into bytes and back; everything else uses only these types.
 */

export const SEGMENT_SIZE = 4096;
export const FIRST_LINE_SIZE = 512;
export const MAX_HOST_ID = 2000;
/** segments read in one go: the global block plus hosts 1..2000 */
export const SEGMENT_COUNT = MAX_HOST_ID + 1;
/** bytes the metadata volume must hold: every segment (2001 × 4096) */
export const WHITEBOARD_BYTES = SEGMENT_COUNT * SEGMENT_SIZE;
export const METADATA_PARSE_VERSION = 1;
export const METADATA_FEATURE_VERSION = 1;

export type VmStatus = "up" | "down" | "down_unexpected" | "down_missing" | "unknown";
export type Health = "good" | "bad";

/** Engine status (behaviour.md §5), published as Python-style JSON in field 6. */
export interface EngineStatus {
  vm: VmStatus;
  health: Health;
  detail: string;
  reason?: string;
}

/** What one host publishes about itself (fields of the first line + the extra part). */
export interface HostBlock {
  parseVersion: number;
  featureVersion: number;
  /** writer's monotonic seconds at collection start */
  timestamp: number;
  hostId: number;
  score: number;
  /** the JSON of field 6 exactly as written */
  engineStatusRaw: string;
  /** parsed field 6; undefined when the JSON does not parse (block still valid) */
  engineStatus: EngineStatus | undefined;
  hostname: string;
  maintenance: boolean;
  stopped: boolean;
  /** 8 lowercase hex digits as found in the block ("" for older writers without it) */
  crc32: string;
  confOnSharedStorage: boolean;
  vmConfRefreshTime: number;
  /** the human-readable key=value lines after byte 512, in order */
  extra: Record<string, string>;
}

/** What the agent gives the codec to encode; the codec computes versions and CRC. */
export interface HostBlockInput {
  timestamp: number;
  hostId: number;
  score: number;
  engineStatus: EngineStatus;
  hostname: string;
  maintenance: boolean;
  stopped: boolean;
  confOnSharedStorage: boolean;
  vmConfRefreshTime: number;
  /** the state's own keys (`maintenance`, `state`, `stopped`, `timeout`); written sorted */
  stateExtra: Record<string, string>;
  /**
   * wall-clock seconds minus monotonic seconds (the original's `time_epoch`); only used for
   * the `timestamp=<int> (<ctime>)` line, which shows ctime(timestamp + timeEpoch). Default 0.
   */
  timeEpoch?: number;
  /** the same offset for `vm_conf_refresh_time=<int> (<ctime>)`. Default 0. */
  vmConfRefreshTimeEpoch?: number;
}

export interface GlobalBlock {
  maintenance: boolean;
  /** keys we do not know, kept so they are never lost */
  unknown: Record<string, string>;
}

export type DecodeErrorKind =
  | "malformed"
  | "bad-crc"
  | "too-old"
  | "too-new"
  | "id-mismatch"
  | "not-utf8";

/** One host's decode failure: typed, with host id (segment) and reason. */
export interface DecodeError {
  kind: DecodeErrorKind;
  /** the segment index the block was read from */
  hostId: number;
  reason: string;
}

export type DecodeResult = { ok: true; block: HostBlock } | { ok: false; error: DecodeError };

/** The whole whiteboard after one read: every non-empty segment, decoded or not. */
export interface WhiteboardSnapshot {
  global: GlobalBlock;
  hosts: Map<number, HostBlock>;
  errors: DecodeError[];
  /** true when any block was too new: the agent must stop managing the VM and exit */
  tooNew: boolean;
  /** problems found in the global block (unknown keys, bad values); never fatal */
  globalWarnings?: string[];
}
