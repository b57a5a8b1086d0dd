import protobuf from 'protobufjs';

/**
 * Byte-level protobuf editing. A graph edit rewrites only the fields it changes and copies every other field's
 * bytes as they were, so weights are not re-encoded and fields our schema does not know (newer ONNX versions)
 * survive. Decoding and re-encoding the whole ModelProto would silently drop those.
 */
export interface WireField {
  /** Field number. */
  field: number;
  wireType: number;
  /** The whole field, tag included: bytes.subarray(start, end) can be copied as is. */
  start: number;
  end: number;
  /** The payload of a length-delimited field (wire type 2), without tag and length. */
  valueStart: number;
  valueEnd: number;
}

/** The top-level fields of the message in bytes[start, end), in file order. Throws on malformed data. */
export function scanFields(bytes: Uint8Array, start = 0, end = bytes.length): WireField[] {
  const reader = protobuf.Reader.create(bytes.subarray(start, end));
  const fields: WireField[] = [];
  while (reader.pos < reader.len) {
    const fieldStart = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new Error(`illegal field number 0 at offset ${start + fieldStart}`);
    // ONNX never uses groups (wire types 3/4); treating them as corrupt keeps this walker simple.
    if (wireType === 3 || wireType === 4) throw new Error(`unexpected group at offset ${start + fieldStart}`);
    let valueStart = reader.pos;
    if (wireType === 2) {
      const length = reader.uint32();
      valueStart = reader.pos;
      reader.skip(length);
    } else {
      reader.skipType(wireType);
    }
    fields.push({
      field,
      wireType,
      start: start + fieldStart,
      end: start + reader.pos,
      valueStart: start + valueStart,
      valueEnd: start + reader.pos,
    });
  }
  return fields;
}

/** A length-delimited field (tag, length, payload): how messages and strings are embedded. */
export function encodeLengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((field << 3) | 2)
    .bytes(payload)
    .finish();
}
