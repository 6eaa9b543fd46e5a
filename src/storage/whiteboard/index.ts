export { crc32Hex } from "./crc.js";
export { pythonCtime } from "./ctime.js";
export { WhiteboardEncodeError, type WhiteboardEncodeErrorKind } from "./errors.js";
export { decodeGlobalBlock, defaultGlobalBlock, encodeGlobalBlock } from "./global-block.js";
export { decodeHostBlock, isEmptySegment } from "./host-block-decode.js";
export { encodeHostBlock } from "./host-block-encode.js";
export { pythonJson, pythonJsonString } from "./python-json.js";
export { decodeSegments, decodeWhiteboard } from "./snapshot.js";
export * from "./types.js";
