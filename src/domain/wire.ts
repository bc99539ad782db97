// The Confluent wire format, as bytes: the magic byte 0, the schema id (4 bytes, big-endian), then
// the payload (JSON for a JSON Schema subject). A JSON text never starts with a 0 byte, so framed and
// plain values tell themselves apart. The registry side lives in log/kafka/registry.ts.
const MAGIC = 0;
export const WIRE_HEADER_BYTES = 5;

/** The schema id of a value in the Confluent wire format; undefined for anything else (plain JSON). */
export function wireSchemaId(value: Buffer): number | undefined {
  return value.length >= WIRE_HEADER_BYTES && value[0] === MAGIC ? value.readInt32BE(1) : undefined;
}

export function frame(schemaId: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out = Buffer.allocUnsafe(WIRE_HEADER_BYTES + body.length);
  out[0] = MAGIC;
  out.writeInt32BE(schemaId, 1);
  body.copy(out, WIRE_HEADER_BYTES);
  return out;
}
