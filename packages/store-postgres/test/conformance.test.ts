// @module-tag postgres
import { runStoreConformance } from "@prolong/store-conformance";
import { afterAll, beforeAll } from "vitest";
import {
  openPostgresTestStore,
  type PostgresServer,
  startPostgresServer,
} from "../../../testing/postgres-server.js";

// One real server for the file; each store under test gets a fresh schema on it.
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.close();
});

runStoreConformance(
  "postgres",
  async () => {
    // A short statement timeout, so a test that meets a lock fails within the test.
    const { store, cleanup } = await openPostgresTestStore(server, { statementTimeout: 2000 });
    return { store, cleanup };
  },
  {
    // An outage as production meets it: the server goes down (its connections with it),
    // and comes back on the same port with the same data; the store's pool reconnects.
    blockWrites: async () => {
      await server.stop();
      return () => server.start();
    },
  },
);
