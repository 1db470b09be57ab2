import { connect } from 'node:net';
import { signProviderCallback } from '@runway-relay/ingress';
import { baseBody } from './fuzz-cases.js';
import { hex, int, pick, type Rng } from './fuzz-random.js';

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

function withInvalidUtf8(rng: Rng, json: string): Buffer {
  const at = json.indexOf('"msg":"') + '"msg":"'.length;
  const bytes = pick(rng, [[0xc3, 0x28], [0xff], [0xff, 0xfe, 0x00]]);
  return Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from(bytes), Buffer.from(json.slice(at))]);
}

/** Builds raw case `index`. Signed cases carry the provider signature of their own `s-` id. */
export function generateRawCase(rng: Rng, hmacKey: string, index: number, nowS: number): RawCase {
  const kind = pick(rng, [
    'invalid-utf8-body',
    'invalid-utf8-header',
    'giant-header',
    'malformed-request-line',
    'bad-header-syntax',
    'truncated-body',
    'duplicate-signature',
    'duplicate-content-type',
    'duplicate-content-length',
    'content-length-and-chunked',
    'chunked',
    'chunked-invalid',
    'http-1.0',
  ] as const);
  // Only these kinds send a correct, single signature for the body's id.
  const signed = ['invalid-utf8-body', 'duplicate-content-type', 'chunked', 'http-1.0'].includes(kind) && rng() < 0.7;
  const taskId = `${signed ? 's' : 'u'}-r${index.toString(36)}-${hex(rng, 6)}`;
  const json = JSON.stringify(baseBody(rng, taskId));
  const timestamp = String(nowS);
  const signature = signProviderCallback(signed ? hmacKey : 'wrong-key', taskId, timestamp);
  const auth = [`X-Webhook-Timestamp: ${timestamp}`, `X-Webhook-Signature: ${signature}`];
  const common = ['POST /callbacks/runway HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'];
  const jsonHead = (length: number) => [...common, 'Content-Type: application/json', `Content-Length: ${length}`];
  const plain = (bytes: Buffer, parserLevel = false, mayNotAnswer = false): RawCase => ({
    index,
    labels: [kind],
    signed,
    taskId,
    bytes,
    parserLevel,
    mayNotAnswer,
    halfClose: kind === 'truncated-body' || kind === 'malformed-request-line',
  });

  switch (kind) {
    case 'invalid-utf8-body': {
      const body = withInvalidUtf8(rng, json);
      return plain(http([...jsonHead(body.length), ...auth], body));
    }
    case 'invalid-utf8-header': {
      const head = Buffer.concat([
        Buffer.from(
          [...jsonHead(Buffer.byteLength(json)), `X-Webhook-Timestamp: ${timestamp}`, 'X-Webhook-Signature: '].join(
            CRLF,
          ),
        ),
        Buffer.from(pick(rng, [[0xff, 0xfe], [0xc3, 0x28], [0x80]])),
        Buffer.from(CRLF + CRLF + json),
      ]);
      return plain(head, true);
    }
    case 'giant-header': {
      const size = int(rng, 17 * 1024, 64 * 1024);
      return plain(
        http([...jsonHead(Buffer.byteLength(json)), ...auth, `X-Padding: ${'a'.repeat(size)}`], json),
        true,
        true,
      );
    }
    case 'malformed-request-line':
      return plain(
        Buffer.from(
          pick(rng, [
            'GARBAGE\r\n\r\n',
            'POST /callbacks/runway HTTP/9.9\r\nHost: x\r\n\r\n',
            'POST  HTTP/1.1\r\nHost: x\r\n\r\n',
            'POST /callbacks/runway\r\n\r\n',
            'P\u00d6ST /callbacks/runway HTTP/1.1\r\nHost: x\r\n\r\n',
            'POST /callbacks/ runway HTTP/1.1\r\nHost: x\r\n\r\n',
            'POST /callbacks/runway HTTP/1.1 extra\r\nHost: x\r\n\r\n',
            '\r\n\r\n\r\n',
            `POST /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          ]),
          'latin1',
        ),
        true,
        true,
      );
    case 'bad-header-syntax': {
      const line = pick(rng, [
        'NoColonHere',
        ' Leading-Space: x',
        'Bad Name: x',
        'X-Nul: a\u0000b',
        'X-Ctl: \u0001',
        'X-Lf-Only: a\nX-Other: b',
      ]);
      return plain(http([...jsonHead(Buffer.byteLength(json)), ...auth, line], json), true, true);
    }
    case 'truncated-body': {
      const sent = Buffer.from(json).subarray(0, int(rng, 0, json.length - 1));
      return plain(http([...jsonHead(Buffer.byteLength(json) + int(rng, 1, 5000)), ...auth], sent), true, true);
    }
    case 'duplicate-signature':
      // Node joins repeated unknown headers with ", ": never a valid signature.
      return plain(
        http(
          [...jsonHead(Buffer.byteLength(json)), ...auth, `X-Webhook-Signature: ${pick(rng, [signature, 'garbage'])}`],
          json,
        ),
      );
    case 'duplicate-content-type': {
      const first = pick(rng, ['application/json', 'text/plain']);
      return plain(
        http(
          [
            ...common,
            `Content-Type: ${first}`,
            'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(json)}`,
            ...auth,
          ],
          json,
        ),
      );
    }
    case 'duplicate-content-length': {
      const length = Buffer.byteLength(json);
      return plain(
        http([...jsonHead(length), `Content-Length: ${pick(rng, [length, length + 1])}`, ...auth], json),
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
      const valid = kind === 'chunked';
      const size = valid ? Buffer.byteLength(json).toString(16) : pick(rng, ['zz', '-1', 'ffffffffffffffffff', '']);
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
