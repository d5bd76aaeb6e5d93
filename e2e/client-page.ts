import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { freePort } from "./server-process.js";

/** `@prolong/client` as a page gets it from a bundler: its exports on `window.prolong`. */
async function clientBundle(): Promise<Uint8Array> {
  const bundled = await build({
    stdin: {
      contents: 'export * from "@prolong/client";',
      resolveDir: new URL(".", import.meta.url).pathname,
      loader: "js",
    },
    bundle: true,
    format: "iife",
    globalName: "prolong",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return bundled.outputFiles[0]?.contents as Uint8Array;
}

export interface ClientPageHost {
  /** `http://HOST:PORT`, the page's origin. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves, on loopback, a blank page (`/`) that loads the client (`/prolong.js`), so a test
 * makes its clients in the page with the options it needs and sees every event from the
 * first. `other` answers any other path (a proxy in front of prolong, say); 404 without it.
 */
export async function hostClientPage(
  options: {
    host?: "localhost" | "127.0.0.1";
    port?: number;
    other?: (request: IncomingMessage, response: ServerResponse) => void;
  } = {},
): Promise<ClientPageHost> {
  const script = await clientBundle();
  const page =
    '<!doctype html><meta charset="utf-8"><title>client</title><script src="/prolong.js"></script>';
  const server: Server = createServer((request, response) => {
    if (request.url === "/prolong.js") {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(script);
    } else if (request.url === "/" || request.url?.startsWith("/?")) {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    } else if (request.url === "/favicon.ico") {
      response.writeHead(204).end();
    } else if (options.other) {
      options.other(request, response);
    } else {
      response.writeHead(404).end();
    }
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    origin: `http://${options.host ?? "localhost"}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a page logged as errors and which of its requests failed, from the moment it is watched. */
export function watchFailures(page: Page): { console: string[]; failed: string[] } {
  const seen = { console: [] as string[], failed: [] as string[] };
  page.on("console", (message) => {
    if (message.type() === "error") seen.console.push(`${message.text()} ${message.location().url}`);
  });
  page.on("requestfailed", (request) => seen.failed.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) seen.failed.push(`${response.url()} ${response.status()}`);
  });
  return seen;
}

/**
 * The DPoP key pairs the page's origin keeps in IndexedDB (the client's `prolong-dpop`
 * database), read by page script as any script could: whether the private key is
 * extractable, what exporting it answers, and the public half as a JWK.
 */
export const storedDpopPairs = (page: Page) =>
  page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open("prolong-dpop");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const pairs = await new Promise<CryptoKeyPair[]>((resolve, reject) => {
      const request = db.transaction("keys").objectStore("keys").getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    db.close();
    const attempt = (format: "jwk" | "pkcs8", key: CryptoKey) =>
      crypto.subtle.exportKey(format, key).then(
        () => "exported",
        (error: Error) => error.name,
      );
    return Promise.all(
      pairs.map(async ({ privateKey, publicKey }) => ({
        extractable: privateKey.extractable,
        jwk: await attempt("jwk", privateKey),
        pkcs8: await attempt("pkcs8", privateKey),
        publicJwk: await crypto.subtle.exportKey("jwk", publicKey),
      })),
    );
  });

declare global {
  interface Window {
    prolong: typeof import("@prolong/client");
  }
}
