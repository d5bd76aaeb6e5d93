import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * A self-signed P-256 certificate for `localhost` and `127.0.0.1`, valid for a day, made
 * with openssl in a directory removed at once: browser tests that need HTTPS (DBSC runs
 * on secure origins only) serve loopback with it.
 */
export function loopbackCertificate(): LoopbackCertificate {
  const dir = mkdtempSync(join(tmpdir(), "prolong-tls-"));
  try {
    const [keyFile, certFile] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "pipe" },
    );
    const cert = readFileSync(certFile, "utf8");
    const der = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
    return {
      cert,
      key: readFileSync(keyFile, "utf8"),
      spki: createHash("sha256").update(der).digest("base64"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
