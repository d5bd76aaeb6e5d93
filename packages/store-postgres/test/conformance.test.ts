// @module-tag postgres
import { runStoreConformance, type StoreUnderTest } from "@prolong/store-conformance";
import { openPostgresStore } from "@prolong/store-postgres";
import { afterAll, beforeAll } from "vitest";
import {
  openPostgresTestStore,
  type PostgresServer,
  startPostgresServer,
} from "../../../testing/postgres-server.js";

// One real server for the file; each store under test gets a fresh schema on it.
let server: PostgresServer;
/** The schema each store under test works in, so a second store can open the same data. */
const schemas = new WeakMap<StoreUnderTest, string>();
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
    const { store, schema, cleanup } = await openPostgresTestStore(server, { statementTimeout: 2000 });
    schemas.set(store, schema);
    return { store, cleanup };
  },
  {
    // A pool of its own on the same schema, as a second server instance has.
    openPeer: async (store: StoreUnderTest) =>
      openPostgresStore({ connectionString: server.url, schema: schemas.get(store) as string }),
    // An outage as production meets it: the server goes down (its connections with it),
    // and comes back on the same port with the same data; the store's pool reconnects.
    blockWrites: async () => {
      await server.stop();
      return () => server.start();
    },
  },
);
