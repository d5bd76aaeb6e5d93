/**
 * Vitest global setup of the projects that run the engine's and the server's suites on a
 * database server (vitest.config.ts): starts one real server for the whole project and
 * hands its URL to the test files (`inject("postgresUrl")`, `inject("redisUrl")`), which give each test a store
 * of its own on it (testing/stores.ts). A project whose server this machine lacks runs
 * without it, every test skipped and counted (`wholeProjectSkip`, testing/system-programs.ts),
 * except on CI, where the run fails saying what to install.
 */
import type { TestProject } from "vitest/node";
import { startPostgresServer } from "./postgres-server.js";
import { startRedisServer } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (project.name === "postgres") {
    const server = await startPostgresServer();
    project.provide("postgresUrl", server.url);
    return () => server.close();
  }
  if (project.name === "redis") {
    const server = await startRedisServer();
    project.provide("redisUrl", server.url);
    return () => server.close();
  }
  return async () => {};
}
