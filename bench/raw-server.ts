/**
 * The baseline: a bare node:http server answering with bytes captured from Parley, from memory. Run as a child
 * process (like Parley) so it gets its own event loop; prints `{"port":N}` once listening.
 * Routes come as JSON in BENCH_ROUTES: [{ method, pattern (RegExp source), status, contentType, body }].
 * An event stream is sent as its first frame at once, the rest about BENCH_STREAM_HOLD_MS later, so the baseline holds
 * as many streams open, at a comparable rate, as Parley does while it answers.
 */
import { createServer } from 'node:http';

interface Route {
  method: string;
  pattern: string;
  status: number;
  contentType: string;
  body: string;
}

const routes = (JSON.parse(process.env['BENCH_ROUTES'] ?? '[]') as Route[]).map((r) => ({
  ...r,
  re: new RegExp(r.pattern),
  bytes: Buffer.from(r.body),
  stream: r.contentType.startsWith('text/event-stream'),
}));

const holdMs = Number(process.env['BENCH_STREAM_HOLD_MS'] ?? 0);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const route = routes.find((r) => r.method === req.method && r.re.test(req.url ?? ''));
  // Read the request body first, as any real handler must.
  req.on('data', () => undefined);
  req.on('end', () => {
    if (!route) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    if (route.stream) {
      const cut = route.body.indexOf('\n\n') + 2;
      res.writeHead(route.status, { 'content-type': route.contentType, 'cache-control': 'no-cache' });
      res.write(route.body.slice(0, cut));
      // Spread over ±2/3 of the hold, so the streams do not open and close in lockstep waves.
      setTimeout(() => res.end(route.body.slice(cut)), holdMs * (1 / 3 + (4 / 3) * Math.random()));
      return;
    }
    res.writeHead(route.status, { 'content-type': route.contentType, 'content-length': route.bytes.length });
    res.end(route.bytes);
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
