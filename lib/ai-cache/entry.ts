// The stored entry: an 8-byte header (format, codec, kind, raw length) then the payload, compressed above a threshold.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decodeValue, encodeValue } from './serializer';

/** Compression codecs; the codec byte of each entry says which one wrote it, so old entries keep decoding. */
export type Codec = 'brotli' | 'gzip' | 'none';
const CODEC_BYTE: Record<Codec, number> = { none: 0, gzip: 1, brotli: 2 };
const CODEC_OF_BYTE: ReadonlyArray<Codec> = ['none', 'gzip', 'brotli'];

/** What an entry holds: a string result, any other result, a recorded stream, or a remembered failure. */
export type Entry =
  | { kind: 'string'; value: string }
  | { kind: 'value'; value: unknown }
  | { kind: 'stream'; chunks: unknown[] }
  | { kind: 'failure'; failure: { name: string; message: string; code?: string } };

const KIND_BYTE = { string: 0, value: 1, stream: 2, failure: 3 } as const;
const KIND_OF_BYTE = ['string', 'value', 'stream', 'failure'] as const;

const MAGIC = 0xa1;
export const HEADER_BYTES = 8;
/** Above this many raw bytes, decompression runs on the zlib thread pool instead of the event loop. */
const SYNC_DECOMPRESS_LIMIT = 256 * 1024;

const CHUNK_STRING = 0;
const CHUNK_BUFFER = 1;
const CHUNK_BYTES = 2;
const CHUNK_VALUE = 3;

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);

/** Serialises an entry's content (before compression). @throws AiCacheValueError when it cannot round-trip. */
export function serializeEntry(entry: Entry): Buffer {
  switch (entry.kind) {
    case 'string':
      return Buffer.from(entry.value, 'utf8');
    case 'value':
      return Buffer.from(encodeValue(entry.value), 'utf8');
    case 'failure':
      return Buffer.from(JSON.stringify(entry.failure), 'utf8');
    case 'stream':
      return serializeChunks(entry.chunks);
  }
}

/** The settings that decide how an entry is written. */
export interface WriteSettings {
  codec: Codec;
  /** Raw payloads of at least this many bytes are compressed. */
  compressAbove: number;
}

/** Header + (maybe compressed) payload, and the sizes the `store` event reports. */
export async function encodeEntry(
  kind: Entry['kind'],
  raw: Buffer,
  settings: WriteSettings,
): Promise<{ bytes: Buffer; rawBytes: number; codec: Codec }> {
  let codec: Codec = 'none';
  let payload = raw;
  if (settings.codec !== 'none' && raw.length >= settings.compressAbove) {
    const compressed = await compress(settings.codec, raw);
    // Incompressible data (already compressed bytes, random ids) is kept as it is.
    if (compressed.length < raw.length) {
      codec = settings.codec;
      payload = compressed;
    }
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = MAGIC;
  header[1] = CODEC_BYTE[codec];
  header[2] = KIND_BYTE[kind];
  header[3] = 0;
  header.writeUInt32BE(raw.length, 4);
  return { bytes: Buffer.concat([header, payload], HEADER_BYTES + payload.length), rawBytes: raw.length, codec };
}

/** Whether stored bytes are a compressed string or value entry (the kinds worth remembering as text). */
export function isCompressedText(bytes: Buffer): boolean {
  return (
    bytes.length >= HEADER_BYTES &&
    bytes[0] === MAGIC &&
    bytes[1] !== 0 &&
    (bytes[2] === KIND_BYTE.string || bytes[2] === KIND_BYTE.value)
  );
}

/** Parses the text of a string or value entry (as kept by a reader's memo). */
export function parseText(kind: 'string' | 'value', text: string): unknown {
  return kind === 'string' ? text : decodeValue(text);
}

/**
 * Decodes a stored entry. Returns a reason string instead of an entry when the bytes are not a valid
 * entry, claim more than `maxRawBytes`, or decompress to more than they claim (a "zip bomb").
 */
export async function decodeEntry(
  bytes: Buffer,
  maxRawBytes: number,
  onText?: (kind: 'string' | 'value', text: string) => void,
): Promise<Entry | string> {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) return 'not an aiCache entry';
  const codec = CODEC_OF_BYTE[bytes[1] as number];
  const kind = KIND_OF_BYTE[bytes[2] as number];
  if (codec === undefined || kind === undefined) return 'unknown codec or kind';
  const rawLength = bytes.readUInt32BE(4);
  if (rawLength > maxRawBytes) return `entry claims ${rawLength} bytes, above maxSize ${maxRawBytes}`;
  const payload = bytes.subarray(HEADER_BYTES);
  let raw: Buffer;
  try {
    raw = codec === 'none' ? payload : await decompress(codec, payload, rawLength);
  } catch (error) {
    return `cannot decompress (${(error as Error).message})`;
  }
  if (raw.length !== rawLength) return `decompressed to ${raw.length} bytes, header says ${rawLength}`;
  try {
    if (kind === 'string' || kind === 'value') {
      const text = raw.toString('utf8');
      const entry: Entry = kind === 'string' ? { kind, value: text } : { kind, value: decodeValue(text) };
      if (codec !== 'none') onText?.(kind, text);
      return entry;
    }
    return parsePayload(kind, raw);
  } catch (error) {
    return `cannot parse (${(error as Error).message})`;
  }
}

function parsePayload(kind: 'stream' | 'failure', raw: Buffer): Entry {
  if (kind === 'failure') {
    return { kind, failure: JSON.parse(raw.toString('utf8')) as { name: string; message: string; code?: string } };
  }
  return { kind, chunks: parseChunks(raw) };
}

function compress(codec: Exclude<Codec, 'none'>, raw: Buffer): Promise<Buffer> {
  if (codec === 'gzip') return gzip(raw, { level: 6 });
  return brotliCompress(raw, {
    params: {
      // Quality 9 writes text at about a quarter of its size and decodes fastest (a 50 KB entry in ~0.1 ms);
      // it costs a few ms per 50 KB once, on the zlib thread pool. Very large entries use 5 (10x faster to write).
      [zlib.constants.BROTLI_PARAM_QUALITY]: raw.length <= 1024 * 1024 ? 9 : 5,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
}

function decompress(codec: Exclude<Codec, 'none'>, payload: Buffer, rawLength: number): Promise<Buffer> | Buffer {
  // maxOutputLength makes zlib stop (RangeError) instead of inflating a bomb into memory.
  // One output chunk of the announced size avoids zlib's default 16 KB chunks and their concatenation.
  const options = {
    maxOutputLength: Math.max(1, rawLength),
    chunkSize: Math.min(Math.max(rawLength + 64, 64), 1 << 20),
  };
  if (rawLength <= SYNC_DECOMPRESS_LIMIT) {
    return codec === 'gzip' ? zlib.gunzipSync(payload, options) : zlib.brotliDecompressSync(payload, options);
  }
  return codec === 'gzip' ? gunzip(payload, options) : brotliDecompress(payload, options);
}

function serializeChunks(chunks: unknown[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    let type: number;
    let data: Buffer;
    if (typeof chunk === 'string') {
      type = CHUNK_STRING;
      data = Buffer.from(chunk, 'utf8');
    } else if (Buffer.isBuffer(chunk)) {
      type = CHUNK_BUFFER;
      data = chunk;
    } else if (chunk instanceof Uint8Array) {
      type = CHUNK_BYTES;
      data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      type = CHUNK_VALUE;
      data = Buffer.from(encodeValue(chunk), 'utf8');
    }
    const head = Buffer.allocUnsafe(5);
    head[0] = type;
    head.writeUInt32BE(data.length, 1);
    parts.push(head, data);
  }
  return Buffer.concat(parts);
}

function parseChunks(raw: Buffer): unknown[] {
  const chunks: unknown[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const type = raw[offset];
    const length = raw.readUInt32BE(offset + 1);
    const start = offset + 5;
    const end = start + length;
    if (end > raw.length) throw new Error('truncated stream entry');
    const data = raw.subarray(start, end);
    if (type === CHUNK_STRING) chunks.push(data.toString('utf8'));
    else if (type === CHUNK_BUFFER) chunks.push(Buffer.from(data));
    else if (type === CHUNK_BYTES) chunks.push(new Uint8Array(data));
    else if (type === CHUNK_VALUE) chunks.push(decodeValue(data.toString('utf8')));
    else throw new Error(`unknown chunk type ${type}`);
    offset = end;
  }
  return chunks;
}
