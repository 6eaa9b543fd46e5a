export { parseMethodCall, parseMethodResponse } from "./parse.js";
export {
  escapeXml,
  serializeFault,
  serializeMethodCall,
  serializeMethodResponse,
  serializeValue,
} from "./serialize.js";
export * from "./types.js";
