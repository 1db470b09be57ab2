import { connect } from 'node:net';
import { expectedProviderSignature } from '@runway-relay/ingress';
import fc from 'fast-check';
import { type BaseRecipe, baseArb, baseBody, type OneOf, oneKind } from './fuzz-cases.js';

/** One request written byte for byte on a socket: what `inject` cannot express. */
export interface RawCase {
  index: number;
  labels: string[];
  signed: boolean;
  taskId: string;
  bytes: Buffer;
  /** Node's HTTP parser may answer instead of the app, so a non-JSON 400/431 is acceptable. */
  parserLevel: boolean;
  /** The request never completes: the server may close without an answer. */
  mayNotAnswer: boolean;
  /**
   * Half-close after writing, so the server sees the request end early (a truncated body, or
   * nothing but blank lines, which HTTP lets a server skip while it waits). Not for complete
   * requests: Node's server takes a client's FIN as "gone" and drops an answer still waiting on Redis.
   */
  halfClose: boolean;
}

export interface RawResponse {
  /** null: the socket closed (or timed out) without a status line. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  timedOut: boolean;
}

const CRLF = '\r\n';

function http(head: readonly string[], body: Buffer | string = ''): Buffer {
  return Buffer.concat([Buffer.from(head.join(CRLF) + CRLF + CRLF, 'latin1'), Buffer.from(body)]);
}

/** Only the kinds with a `sign` choice send a correct, single signature, 70% of the time. */
const sign = fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 7, arbitrary: fc.constant(true) });

/** Raw request kinds, by label, with their choices. `cut` is taken modulo the body's length. */
const rawVariants = {
  'invalid-utf8-body': fc.record({ sign, bytes: fc.constantFrom([0xc3, 0x28], [0xff], [0xff, 0xfe, 0x00]) }),
  'invalid-utf8-header': fc.record({ bytes: fc.constantFrom([0xff, 0xfe], [0xc3, 0x28], [0x80]) }),
  'giant-header': fc.record({ size: fc.integer({ min: 17 * 1024, max: 64 * 1024 }) }),
  'malformed-request-line': fc.record({
    request: fc.constantFrom(
      'GARBAGE\r\n\r\n',
      'POST /callbacks/runway HTTP/9.9\r\nHost: x\r\n\r\n',
      'POST  HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /callbacks/runway\r\n\r\n',
      'P\u00d6ST /callbacks/runway HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /callbacks/ runway HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /callbacks/runway HTTP/1.1 extra\r\nHost: x\r\n\r\n',
      '\r\n\r\n\r\n',
      `POST /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ),
  }),
  'bad-header-syntax': fc.record({
    line: fc.constantFrom(
      'NoColonHere',
      ' Leading-Space: x',
      'Bad Name: x',
      'X-Nul: a\u0000b',
      'X-Ctl: \u0001',
      'X-Lf-Only: a\nX-Other: b',
    ),
  }),
  'truncated-body': fc.record({ cut: fc.nat(), missing: fc.integer({ min: 1, max: 5000 }) }),
  'duplicate-signature': fc.record({ second: fc.constantFrom('same', 'garbage') }),
  'duplicate-content-type': fc.record({ sign, first: fc.constantFrom('application/json', 'text/plain') }),
  'duplicate-content-length': fc.record({ second: fc.constantFrom('same', 'one-more') }),
  'content-length-and-chunked': fc.constant({}),
  chunked: fc.record({ sign }),
  'chunked-invalid': fc.record({ size: fc.constantFrom('zz', '-1', 'ffffffffffffffffff', '') }),
  'http-1.0': fc.record({ sign }),
};

/** One raw request: a callback variant, and a kind with its choices. */
export type RawRecipe = { base: BaseRecipe; request: OneOf<typeof rawVariants> };
/** Every raw kind; a case is labelled with its kind. */
export const RAW_KINDS = Object.keys(rawVariants);
/** Raw cases, every kind equally likely. */
export const rawCaseArb: fc.Arbitrary<RawRecipe> = fc.record({ base: baseArb, request: oneKind(rawVariants) });

function withInvalidUtf8(json: string, bytes: readonly number[]): Buffer {
  const at = json.indexOf('"msg":"') + '"msg":"'.length;
  return Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from(bytes), Buffer.from(json.slice(at))]);
}

/** Builds raw case `index` at `nowS`. Signed cases carry the provider signature of their own `s-` id. */
export function buildRawCase({ base, request: r }: RawRecipe, hmacKey: string, index: number, nowS: number): RawCase {
  const signed = 'sign' in r && r.sign;
  const taskId = `${signed ? 's' : 'u'}-r${index.toString(36)}`;
  const json = JSON.stringify(baseBody(base, taskId));
  const timestamp = String(nowS);
  const signature = expectedProviderSignature(signed ? hmacKey : 'wrong-key', taskId, timestamp);
  const auth = [`X-Webhook-Timestamp: ${timestamp}`, `X-Webhook-Signature: ${signature}`];
  const common = ['POST /callbacks/runway HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'];
  const jsonHead = (length: number) => [...common, 'Content-Type: application/json', `Content-Length: ${length}`];
  const plain = (bytes: Buffer, parserLevel = false, mayNotAnswer = false): RawCase => ({
    index,
    labels: [r.kind],
    signed,
    taskId,
    bytes,
    parserLevel,
    mayNotAnswer,
    halfClose: r.kind === 'truncated-body' || r.kind === 'malformed-request-line',
  });

  switch (r.kind) {
    case 'invalid-utf8-body': {
      const body = withInvalidUtf8(json, r.bytes);
      return plain(http([...jsonHead(body.length), ...auth], body));
    }
    case 'invalid-utf8-header': {
      const head = Buffer.concat([
        Buffer.from(
          [...jsonHead(Buffer.byteLength(json)), `X-Webhook-Timestamp: ${timestamp}`, 'X-Webhook-Signature: '].join(
            CRLF,
          ),
        ),
        Buffer.from(r.bytes),
        Buffer.from(CRLF + CRLF + json),
      ]);
      return plain(head, true);
    }
    case 'giant-header':
      return plain(
        http([...jsonHead(Buffer.byteLength(json)), ...auth, `X-Padding: ${'a'.repeat(r.size)}`], json),
        true,
        true,
      );
    case 'malformed-request-line':
      return plain(Buffer.from(r.request, 'latin1'), true, true);
    case 'bad-header-syntax':
      return plain(http([...jsonHead(Buffer.byteLength(json)), ...auth, r.line], json), true, true);
    case 'truncated-body': {
      const sent = Buffer.from(json).subarray(0, r.cut % json.length);
      return plain(http([...jsonHead(Buffer.byteLength(json) + r.missing), ...auth], sent), true, true);
    }
    case 'duplicate-signature':
      // Node joins repeated unknown headers with ", ": never a valid signature.
      return plain(
        http(
          [
            ...jsonHead(Buffer.byteLength(json)),
            ...auth,
            `X-Webhook-Signature: ${r.second === 'same' ? signature : 'garbage'}`,
          ],
          json,
        ),
      );
    case 'duplicate-content-type':
      return plain(
        http(
          [
            ...common,
            `Content-Type: ${r.first}`,
            'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(json)}`,
            ...auth,
          ],
          json,
        ),
      );
    case 'duplicate-content-length': {
      const length = Buffer.byteLength(json);
      return plain(
        http([...jsonHead(length), `Content-Length: ${r.second === 'same' ? length : length + 1}`, ...auth], json),
        true,
        true,
      );
    }
    case 'content-length-and-chunked':
      return plain(
        http([...jsonHead(Buffer.byteLength(json)), 'Transfer-Encoding: chunked', ...auth], json),
        true,
        true,
      );
    case 'chunked':
    case 'chunked-invalid': {
      const valid = r.kind === 'chunked';
      const size = r.kind === 'chunked' ? Buffer.byteLength(json).toString(16) : r.size;
      const body = `${size}\r\n${json}\r\n0\r\n\r\n`;
      return plain(
        http([...common, 'Content-Type: application/json', 'Transfer-Encoding: chunked', ...auth], body),
        !valid,
        !valid,
      );
    }
    case 'http-1.0':
      return plain(
        http(
          [
            'POST /callbacks/runway HTTP/1.0',
            'Host: 127.0.0.1',
            'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(json)}`,
            ...auth,
          ],
          json,
        ),
      );
  }
}

function parseResponse(raw: Buffer, timedOut: boolean): RawResponse {
  const text = raw.toString('utf8');
  const split = text.indexOf(CRLF + CRLF);
  const head = split >= 0 ? text.slice(0, split) : text;
  const [statusLine = '', ...lines] = head.split(CRLF);
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: match ? Number(match[1]) : null, headers, body: split >= 0 ? text.slice(split + 4) : '', timedOut };
}

/** Writes `bytes` and reads until the server closes (every well-formed case asks for `Connection: close`). */
export function sendRaw(port: number, bytes: Buffer, halfClose: boolean, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks), timedOut));
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the server answered and closed is normal for rejected requests: keep what was read.
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.setTimeout(timeoutMs, () => finish(true));
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
  });
}
