import { createHash, X509Certificate } from "node:crypto";
import { generate } from "selfsigned";

/** A certificate for the loopback names, and what Chromium needs to trust it. */
export interface LoopbackCertificate {
  cert: string;
  key: string;
  /**
   * Base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo: the value of
   * Chromium's `--ignore-certificate-errors-spki-list`, which makes it treat this
   * certificate as trusted (a secure context, where DBSC runs), unlike
   * `--ignore-certificate-errors`, under which the page is not.
   */
  spki: string;
}

const DAY_MS = 86_400_000;

/**
 * A self-signed P-256 certificate for `localhost` and `127.0.0.1`, valid for a day, made
 * in process (the `selfsigned` package, on Web Crypto), so no system program is needed:
 * browser tests that need HTTPS (DBSC runs on secure origins only) serve loopback with it.
 */
export async function loopbackCertificate(): Promise<LoopbackCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + DAY_MS),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  const der = new X509Certificate(pems.cert).publicKey.export({ type: "spki", format: "der" });
  return { cert: pems.cert, key: pems.private, spki: createHash("sha256").update(der).digest("base64") };
}
