// The machine's ceiling with this load generator: node:http reading the whole request and
// answering 200 "ok", nothing else. Started by the peer benches as a process of its own.
import { createServer } from "node:http";

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    response.end("ok");
  });
});
server.listen(0, "127.0.0.1", () =>
  console.log(
    `bare node:http listening on http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`,
  ),
);
// Keep-alive connections would hold close() open until they time out.
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
