/**
 * XML-RPC values as plain data (behaviour.md §7): the wire types map as
 * int/i4 → number, i8 → number (bigint beyond 2^53), boolean → boolean,
 * string and bare text → string, double → number, base64 → Buffer,
 * dateTime.iso8601 → Date, struct → XmlRpcStruct, array → XmlRpcValue[], nil → null.
 */
export type XmlRpcValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | XmlRpcValue[]
  | XmlRpcStruct;

export interface XmlRpcStruct {
  [member: string]: XmlRpcValue;
}

export interface XmlRpcCall {
  method: string;
  params: XmlRpcValue[];
}

/** Fault codes we answer with (the values Python's SimpleXMLRPCServer clients see). */
export const FAULT = Object.freeze({
  /** the handler failed (Python's generic `<class 'Exception'>` fault code) */
  serverError: 1,
  /** request is not well-formed XML-RPC */
  parseError: -32700,
  /** method name unknown */
  methodNotFound: -32601,
  /** wrong number or type of parameters */
  invalidParams: -32602,
  /** request too large or too deeply nested */
  limitExceeded: -32600,
  /** the caller may only read (SO_PEERCRED uid is neither root nor the broker's own) */
  accessDenied: -32001,
});

/** An XML-RPC fault: raised by the parser for bad requests, answered by the server. */
export class XmlRpcFault extends Error {
  override name = "XmlRpcFault";
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(faultString);
  }
}

/** Bounds applied to every document we parse. */
export interface XmlRpcLimits {
  /** maximum document size in bytes */
  maxBytes: number;
  /** maximum nesting of XML elements */
  maxDepth: number;
}

export const DEFAULT_LIMITS: Readonly<XmlRpcLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 48,
});
