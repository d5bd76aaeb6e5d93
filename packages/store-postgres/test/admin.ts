import pg from "pg";
import type { PostgresServer } from "../../../testing/postgres-server.js";

/** A connection of the test's own, outside any store, to look at or tamper with the database. */
export async function adminClient(server: PostgresServer, schema?: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: server.url,
    ...(schema === undefined ? {} : { options: `-c search_path="${schema}"` }),
  });
  // A server stopped by the test ends this connection too; the test sees it in its queries.
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Runs `body` on an admin connection and closes it. */
export async function withAdmin<T>(
  server: PostgresServer,
  schema: string | undefined,
  body: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await adminClient(server, schema);
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What `promise` rejected with; fails when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but it resolved");
}
