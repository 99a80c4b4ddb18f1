/**
 * The benchmark's neutral backend: a tiny node:http server answering every request with a 1-line
 * body, keep-alive, on each port given on the command line (one process, several ports, so that
 * every path measured reaches the same backend). Prints `ready` once every port listens.
 */
import { createServer } from 'node:http';

const BODY = Buffer.from('hello from the bench backend\n');
const ports = process.argv.slice(2).map(Number);
let open = 0;
for (const port of ports) {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    res.writeHead(200, ['content-type', 'text/plain', 'content-length', String(BODY.length)]);
    res.end(BODY);
  });
  server.listen(port, '127.0.0.1', () => {
    if (++open === ports.length) process.stdout.write('ready\n');
  });
}
process.on('SIGTERM', () => process.exit(0));
