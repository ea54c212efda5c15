import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * One outbound plugin request, with the guards a server calling URLs from configuration and user input needs:
 * a deadline over the whole exchange, a cap on the answer's size, no redirects, and no connection to loopback,
 * private, link-local or otherwise special addresses unless the plugin is marked `allowPrivateNetwork`. The name
 * is resolved once, every address it resolves to is checked, and the connection goes to the checked address
 * (the `lookup` hook of the socket), so a name that re-resolves elsewhere between check and connect (DNS
 * rebinding) cannot slip through.
 */

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64],
] as const) BLOCKED.addSubnet(net, bits, 'ipv6');

/** The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), if any. */
function embeddedV4(addr: string): string | null {
  const lower = addr.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const nat64 = /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (nat64) return nat64[1]!;
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const hi = parseInt(sixToFour[1]!, 16);
    const lo = parseInt(sixToFour[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True for an address a plugin may not reach without `allowPrivateNetwork`. */
export function isPrivateAddress(addr: string): boolean {
  const family = isIP(addr);
  if (family === 4) return BLOCKED.check(addr, 'ipv4');
  if (family === 6) {
    const v4 = embeddedV4(addr);
    if (v4 !== null) return BLOCKED.check(v4, 'ipv4');
    return BLOCKED.check(addr, 'ipv6');
  }
  return true; // not an address at all: refuse
}

export class PluginCallError extends Error {
  override name = 'PluginCallError';
  constructor(
    readonly code: 'TIMEOUT' | 'TOO_LARGE' | 'BLOCKED_ADDRESS' | 'NETWORK' | 'HTTP_STATUS' | 'BAD_URL',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface OutboundRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivateNetwork: boolean;
}

export interface OutboundResponse {
  status: number;
  /** Parsed JSON when the answer says it is JSON, else the text. */
  body: unknown;
}

/** A `lookup` that resolves every address, refuses the name if any is not allowed, and connects to the first. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
      if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
        return callback(new PluginCallError('BLOCKED_ADDRESS', `${hostname} resolves to a private or reserved address`), '', 0);
      }
      const first = addresses[0]!;
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [first]);
      callback(null, first.address, first.family);
    });
  };
}

/** Sends the request and reads the answer, within the guards above. Throws PluginCallError. */
export function callPlugin(req: OutboundRequest): Promise<OutboundResponse> {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return Promise.reject(new PluginCallError('BAD_URL', 'the request URL does not parse'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new PluginCallError('BAD_URL', 'only http and https'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address literal is connected to as written, without a lookup: check it here.
  if (isIP(host) && !req.allowPrivateNetwork && isPrivateAddress(host)) {
    return Promise.reject(new PluginCallError('BLOCKED_ADDRESS', `${host} is a private or reserved address`));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        r.destroy();
        reject(err instanceof PluginCallError ? err : new PluginCallError('NETWORK', err.message));
      } else resolve(value!);
    };
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'parley-actions', ...req.headers };
    if (req.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    const r = send(url, { method: req.method, headers, agent: false, lookup: guardedLookup(req.allowPrivateNetwork) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > req.maxResponseBytes) finish(new PluginCallError('TOO_LARGE', `the answer is larger than ${req.maxResponseBytes} bytes`));
        else chunks.push(c);
      });
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if (/\bjson\b/i.test(res.headers['content-type'] ?? '')) {
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
        }
        if (status < 200 || status >= 300) finish(new PluginCallError('HTTP_STATUS', `the service answered HTTP ${status}`, status));
        else finish(null, { status, body });
      });
    });
    const timer = setTimeout(() => finish(new PluginCallError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    r.on('error', (err) => finish(err));
    if (req.body !== undefined) r.end(req.body);
    else r.end();
  });
}
