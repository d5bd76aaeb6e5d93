// The bare reference of the refresh benches, run as a process of its own (startBareServer
// in refresh-load.mjs forks it): node:http reading the whole body, then answering 200
// "ok". HTTP parsing and nothing else: the ceiling of the load generator on this machine.
import { createServer } from "node:http";
import { sendToParent } from "./parent-messages.mjs";

/** @typedef {import("node:net").AddressInfo} AddressInfo */

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    response.end("ok");
  });
});
server.listen(0, "127.0.0.1", () =>
  sendToParent({ port: /** @type {AddressInfo} */ (server.address()).port }),
);
// The parent going away (or saying stop) ends this process.
process.on("disconnect", () => process.exit(0));
