/**
 * The DPoP key (RFC 9449): one ECDSA P-256 pair per issuer and client, made with Web
 * Crypto as non-extractable, so page script can sign with it and never read it out.
 * Browsers keep it in IndexedDB, where every tab of the origin finds the same one (a key
 * per tab would make the server take the other tabs' refreshes for a stolen token's);
 * Node keeps it in memory, or wherever the host's `keyStore` does.
 */
import type { LockManagerLike } from "./options.js";

/** Web Crypto's `CryptoKey`, as far as these types need it: spelt out, so they need no DOM library. */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: { name: string };
}

/** Web Crypto's `CryptoKeyPair`: an ECDSA P-256 pair, its private key able to sign. */
export interface DpopKeyPair {
  publicKey: WebCryptoKey;
  privateKey: WebCryptoKey;
}

/** Where the DPoP key pair lives between runs: a host's own (a keychain, a file) in Node. */
export interface DpopKeyStore {
  load(): Promise<DpopKeyPair | null>;
  save(pair: DpopKeyPair): Promise<void>;
}

/** The `dpop` option: `true` for the platform's store, or the host's `keyStore`. */
export type DpopOption = boolean | { keyStore?: DpopKeyStore };

/** The key pair, and its public half as the JWK every proof's header carries (RFC 9449 §4.2). */
export interface DpopKey {
  pair: DpopKeyPair;
  jwk: Record<string, string | undefined>;
}

const KEYS = "keys";

/**
 * The store the `dpop` option names: the host's, else IndexedDB where the platform has
 * it, else none: the key then lives as long as the client (memory), as in Node.
 */
export function keyStoreOf(option: DpopOption | undefined, name: string): DpopKeyStore | null {
  if (!option) return null;
  if (option !== true && option.keyStore) return option.keyStore;
  return typeof indexedDB === "undefined"
    ? { load: async () => null, save: async () => {} }
    : indexedDbKeyStore(name);
}

/**
 * The pair under `name` in the origin's IndexedDB: CryptoKeys are structured-cloneable,
 * and a non-extractable one stays so when read back (Web Crypto, §"Structured cloning").
 * Reads and writes settle when their transaction does, so a saved key is durable before
 * anyone relies on it.
 */
function indexedDbKeyStore(name: string): DpopKeyStore {
  const run = (pair?: DpopKeyPair) =>
    new Promise<DpopKeyPair | undefined>((resolve, reject) => {
      const open = indexedDB.open("prolong-dpop");
      open.onupgradeneeded = () => open.result.createObjectStore(KEYS);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction(KEYS, "readwrite");
        const keys = tx.objectStore(KEYS);
        const request = pair ? keys.put(pair, name) : keys.get(name);
        tx.oncomplete = () => resolve(request.result as DpopKeyPair | undefined);
        tx.onerror = tx.onabort = () => reject(tx.error);
        open.result.close();
      };
    });
  return { load: async () => (await run()) ?? null, save: async (pair) => void (await run(pair)) };
}

/**
 * The stored pair, or a new one made and saved, holding the Web Lock `name` while it
 * looks, so tabs opened together make one key between them (the refresh lock cannot
 * serve: sign-in makes a proof outside it, and a refresh asks for the key inside it).
 */
export async function loadKey(
  store: DpopKeyStore,
  locks: LockManagerLike | null,
  name: string,
): Promise<DpopKey> {
  const find = async () => {
    const held = await store.load();
    if (held) return held;
    const made = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    await store.save(made);
    return made;
  };
  const pair = await (locks ? locks.request(name, { signal: new AbortController().signal }, find) : find());
  // Only the public members: RFC 9449 §4.2 forbids the private key in the header.
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey as CryptoKey);
  if (crv !== "P-256") throw new TypeError("dpop.keyStore: not a P-256 key pair");
  return { pair, jwk: { crv, kty, x, y } };
}
