/**
 * prolong's server (its Fastify, its logger, its SQLite driver) stays a plain Node module,
 * loaded at run time from node_modules rather than bundled into each route.
 */
const serverExternalPackages = ["@prolong/server", "better-sqlite3"];

/** @type {import("next").NextConfig} */
const config = {
  serverExternalPackages,
  webpack(webpackConfig, { isServer, nextRuntime }) {
    // Next leaves a listed package external only where it resolves inside node_modules; in
    // this repository's workspaces @prolong/server resolves to packages/server, so it is named
    // here as well. An app that installs it from npm needs only `serverExternalPackages`.
    if (isServer && nextRuntime === "nodejs") {
      webpackConfig.externals.push(({ request }, callback) =>
        serverExternalPackages.includes(request) ? callback(null, `module ${request}`) : callback(),
      );
    }
    return webpackConfig;
  },
  // The repository lints with Biome (`npm run lint` at its root).
  eslint: { ignoreDuringBuilds: true },
  poweredByHeader: false,
};

export default config;
