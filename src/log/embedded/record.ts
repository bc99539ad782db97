// The LogRecord the embedded log hands out: one class so every record has the same shape.
import type { LogRecord } from '../types.js';

/** A record as handed to readers; shared between readers, so treat it as read-only. */
export class Rec implements LogRecord {
  constructor(
    public topic: string,
    public partition: number,
    public offset: number,
    public key: string | null,
    public value: Buffer,
    public headers: Record<string, string>,
    public timestamp: number,
    public decoded: unknown,
  ) {}
}
