// A protected server-rendered page: react-dom/server's renderToString of a small account
// page in a plain node:http server, with @prolong/ssr's getSession on every request (its
// verified-token cache on, as by default), beside the same page with no session read.
// Both servers are this file in `--serve` mode, each a process of its own with prolong in
// it (the access cookie is prolong's, its keys reached through `prolong.fetch`, as an
// app that mounts prolong does); autocannon runs in a process of its own and the two
// pages are measured in alternating slices, the best of each kept.
// Run after `npm run build`:
//   node bench/ssr-page.mjs [--quick] [--duration 10] [--rounds 2] [--warmup 2] [--connections 16]
// Prints a table and writes bench/results/ssr-page.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchOptions } from "./lib/args.mjs";
import {
  boundedRun,
  describeErrors,
  measureAlternating,
  startFixedLoad,
  startServerScript,
} from "./lib/fixed-load.mjs";
import { stopServer } from "./lib/refresh-load.mjs";
import { benchFailed, clearProgress, fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const ISSUER = "https://app.example.test/auth";
const SUBJECT = "user-42";
const PATH = "/account";

const opt = benchOptions({
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 1800 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  connections: { type: "number", default: 16, min: 1, max: 1024, integer: true },
  serve: { type: "string", default: "", choices: ["", "session", "plain"] },
  cookieFile: { type: "string", default: "" },
});

const PAGES = {
  plain: "the same page, no session read",
  session: "protected: getSession on every request (cache on)",
};
/** @typedef {keyof typeof PAGES} Page */

/**
 * The page both servers render: the signed-in user, their devices and a sign-out form.
 * @param {typeof import("react")} React
 * @param {string} subject
 */
function accountPage(React, subject) {
  const h = React.createElement;
  const devices = ["This browser", "Phone", "Laptop", "Tablet", "Work desktop"];
  return h(
    "html",
    { lang: "en" },
    h("head", null, h("meta", { charSet: "utf-8" }), h("title", null, "Your account")),
    h(
      "body",
      null,
      h("header", null, h("h1", null, "Your account"), h("p", null, `Signed in as ${subject}`)),
      h(
        "main",
        null,
        h("h2", null, "Devices"),
        h(
          "ul",
          null,
          devices.map((name, i) =>
            h("li", { key: name }, h("strong", null, name), ` — last seen ${i + 1} h ago`),
          ),
        ),
        h("form", { method: "post", action: "/signout" }, h("button", { type: "submit" }, "Sign out")),
      ),
    ),
  );
}

/**
 * A page server (the `--serve` mode): prolong in process with the access cookie on, a
 * session started for SUBJECT whose Cookie header goes to `cookieFile`, and the page.
 * @param {Page} page
 * @param {string} cookieFile
 */
async function serve(page, cookieFile) {
  const React = await import("react");
  const { renderToString } = await import("react-dom/server");
  const { createProlong } = await import("@prolong/server");
  const { cookieHeaderAfter, createServerSessions, CACHE_CONTROL_PRIVATE } = await import("@prolong/ssr");
  const prolong = await createProlong({
    issuer: ISSUER,
    store: "memory:",
    cookies: { access: true },
    // An hour: no token expires during a run.
    profiles: { web: { accessTokenTtl: 3600 } },
  });
  const sessions = createServerSessions({ issuer: ISSUER, fetch: (request) => prolong.fetch(request) });
  const started = await prolong.startFetchSession(new Request(`${ISSUER}/login`), { subject: SUBJECT });
  writeFileSync(cookieFile, cookieHeaderAfter("theme=dark", started.headers.getSetCookie()));

  const server = createServer(async (request, response) => {
    try {
      let subject = SUBJECT;
      if (page === "session") {
        const session = await sessions.getSession(request.headers.cookie ?? "");
        if (!session) {
          response.writeHead(303, { location: "/login" }).end();
          return;
        }
        subject = session.subject;
      }
      const html = `<!doctype html>${renderToString(accountPage(React, subject))}`;
      response.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": CACHE_CONTROL_PRIVATE,
      });
      response.end(html);
    } catch (error) {
      console.error(error);
      response.writeHead(500).end();
    }
  });
  server.listen(0, "127.0.0.1", () => {
    const address = /** @type {import("node:net").AddressInfo} */ (server.address());
    console.log(`listening on http://127.0.0.1:${address.port}`);
  });
  const stop = () => server.close(() => prolong.close().then(() => process.exit(0)));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/**
 * Before any load: the page shows the user with the cookie; the protected one sends a
 * request without it to the login page.
 * @param {string} url
 * @param {string} cookie
 * @param {Page} page
 */
async function checkServer(url, cookie, page) {
  const get = (/** @type {Record<string, string>} */ headers) =>
    fetch(`${url}${PATH}`, { headers, redirect: "manual", signal: AbortSignal.timeout(10_000) });
  const signedIn = await get({ cookie });
  const html = await signedIn.text();
  if (signedIn.status !== 200 || !html.includes(`Signed in as ${SUBJECT}`))
    throw new Error(`${url} answered ${signedIn.status} without the user to the session's cookie`);
  if (page === "plain") return;
  const signedOut = await get({ cookie: "theme=dark" });
  await signedOut.body?.cancel();
  if (signedOut.status !== 303) throw new Error(`${url} answered ${signedOut.status} without a session`);
}

async function main() {
  /** @type {import("./lib/refresh-load.mjs").Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-ssr-"));
  const budgetMs = 120_000 + 3 * (opt.warmup + opt.duration) * 1000;
  const stopAll = boundedRun(children, budgetMs, () => rmSync(dir, { recursive: true, force: true }));
  try {
    /** @type {Record<string, { pid: number | undefined, load: Awaited<ReturnType<typeof startFixedLoad>> }>} */
    const targets = {};
    /** @type {{ child: import("node:child_process").ChildProcess }[]} */
    const servers = [];
    const self = fileURLToPath(import.meta.url);
    for (const page of /** @type {Page[]} */ (["plain", "session"])) {
      const cookieFile = join(dir, `${page}.cookie`);
      const server = await startServerScript(self, ["--serve", page, "--cookie-file", cookieFile], children, {
        NODE_ENV: "production",
      });
      servers.push(server);
      const cookie = readFileSync(cookieFile, "utf8");
      await checkServer(server.url, cookie, page);
      targets[page] = {
        pid: server.child.pid,
        load: await startFixedLoad(
          PAGES[page],
          { url: server.url, request: { method: "GET", path: PATH, headers: { cookie } } },
          opt.connections,
          children,
        ),
      };
    }
    const slice = opt.duration / opt.rounds;
    const measured = await measureAlternating(targets, { warmup: opt.warmup, rounds: opt.rounds, slice });
    for (const { load } of Object.values(targets)) load.child.disconnect();
    await Promise.all(servers.map((server) => stopServer(server.child)));
    clearProgress();
    report(measured, slice);
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
}

/**
 * @param {Record<string, import("./lib/fixed-load.mjs").Measured>} measured
 * @param {number} slice
 */
function report(measured, slice) {
  const of = (/** @type {Page} */ page) => {
    const figures = measured[page];
    if (!figures) throw new Error(`${page}: not measured`);
    return figures;
  };
  const rps = (/** @type {Page} */ page) => of(page).best.requestsPerSecond;
  const pages = /** @type {Page[]} */ (["plain", "session"]);
  console.log(
    `\nGET ${PATH}, renderToString in node:http, over loopback, ${opt.connections} keep-alive connections; best of ${opt.rounds} alternating ${slice} s rounds after ${opt.warmup} s warm-up; errors over all rounds`,
  );
  printTable(
    ["page", "req/s", "÷ no session read", "p50 ms", "p99 ms", "server CPU µs/req", "errors"],
    pages.map((page) => {
      const cpu = of(page).best.serverCpuMicrosPerRequest;
      return [
        PAGES[page],
        fmt(rps(page)),
        `${(rps(page) / rps("plain")).toFixed(2)}×`,
        of(page).best.p50.toFixed(2),
        of(page).best.p99.toFixed(2),
        cpu === null || cpu === undefined ? "-" : fmt(cpu),
        describeErrors(of(page)),
      ];
    }),
  );
  const ratio = rps("session") / rps("plain");
  console.log(`\ntarget: protected page ≥ 0.9× the page without a session read: ${ratio.toFixed(2)}×`);
  writeBenchResults("ssr-page", {
    unit: "requests per second",
    options: { ...opt, serve: undefined, cookieFile: undefined, slice },
    rows: pages.map((page) => ({
      page,
      label: PAGES[page],
      requestsPerSecond: rps(page),
      toPlain: rps(page) / rps("plain"),
      p50: of(page).best.p50,
      p99: of(page).best.p99,
      serverCpuMicrosPerRequest: of(page).best.serverCpuMicrosPerRequest ?? null,
      errors: describeErrors(of(page)),
    })),
    plots: [],
  });
}

if (opt.serve) await serve(/** @type {Page} */ (opt.serve), opt.cookieFile);
else await main();
