/**
 * The demo plugin service: a stand-in for a company's IT system, so the demo shows actions with no setup. It
 * listens on 127.0.0.1 only, at a port the system picks, and keeps nothing but a counter.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoPluginService {
  url: string;
  close(): Promise<void>;
}

const TICKET_TOPICS = [
  'Laptop fan is loud after the last update',
  'Request: second monitor for the desk',
  'Shared drive asks for the password every morning',
  'Printer on floor 3 jams on double-sided jobs',
  'New starter needs access to the design tools',
  'Phone does not sync the calendar',
];
const TICKET_STATES = ['in progress', 'waiting on you', 'new'];

/** A few tickets that look the same on every run for the same requester. */
function ticketsOf(requester: string): { id: string; title: string; state: string }[] {
  const h = createHash('sha256').update(requester.toLowerCase()).digest();
  const count = 1 + (h[0]! % 3);
  return Array.from({ length: count }, (_, i) => ({
    id: `INC-${1000 + ((h[i + 1]! << 4) % 9000)}`,
    title: TICKET_TOPICS[h[i + 4]! % TICKET_TOPICS.length]!,
    state: TICKET_STATES[h[i + 8]! % TICKET_STATES.length]!,
  }));
}

function readBody(req: IncomingMessage, max = 16 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startDemoPluginService(): Promise<DemoPluginService> {
  let resets = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    void (async () => {
      if (req.method === 'POST' && url.pathname === '/vpn/password-resets') {
        const body = JSON.parse((await readBody(req)) || '{}') as { account?: unknown };
        if (typeof body.account !== 'string' || !body.account.includes('@')) return json(res, 400, { error: 'account must be an email address' });
        resets += 1;
        return json(res, 201, { request_id: `VPN-${String(resets).padStart(5, '0')}`, account: body.account, expires_in_minutes: 30 });
      }
      if (req.method === 'GET' && url.pathname === '/tickets') {
        const requester = url.searchParams.get('requester') ?? '';
        const tickets = ticketsOf(requester);
        const summary =
          tickets.length === 0
            ? 'You have no open IT tickets.'
            : `You have ${tickets.length} open IT ticket${tickets.length > 1 ? 's' : ''}: ${tickets.map((t) => `${t.id} “${t.title}” (${t.state})`).join('; ')}.`;
        return json(res, 200, { requester, tickets, summary });
      }
      if (req.method === 'GET' && url.pathname === '/tickets/view') {
        const tickets = ticketsOf(url.searchParams.get('requester') ?? '');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
        return res.end(
          `<!doctype html><title>IT tickets (demo)</title><h1>Your IT tickets (demo service)</h1><ul>${tickets
            .map((t) => `<li>${escapeHtml(t.id)}: ${escapeHtml(t.title)} — ${escapeHtml(t.state)}</li>`)
            .join('')}</ul>${tickets.length ? '' : '<p>No open tickets.</p>'}`,
        );
      }
      json(res, 404, { error: 'not found' });
    })().catch(() => {
      if (!res.headersSent) json(res, 400, { error: 'bad request' });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
