import { readFileSync } from "node:fs";
import {
  defaultPolicy,
  durationProblem,
  type Policy,
  type Profile,
  ProlongError,
  type profileBounds,
  type SigningAlg,
  signingAlgs,
  validatePolicy,
} from "@prolong/core";
import { z } from "zod";
import { isProxyEntry } from "./client-address.js";
import { type RateLimits, resolveRateLimits } from "./limits.js";
import type { RateLimitConfig } from "./rate-limit.js";

/** A profile duration, bounded by the core's own rule so embedders and the CLI agree. */
const duration = (setting: keyof typeof profileBounds) =>
  z.number().superRefine((value, ctx) => {
    const problem = durationProblem(setting, value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A whole number in a range; past the maximum a limit is a typo, not a choice. */
const whole = (min: number, max: number, unit = "") =>
  z
    .number()
    .int(`must be a whole number${unit ? ` of ${unit}` : ""}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * An origin (scheme, host, port) as browsers send it in `Origin`; a path, query or
 * credentials would never match one, so they are refused rather than silently dropped.
 */
const origin = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = URL.canParse(value) ? new URL(value) : null;
  return url?.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
}, "must be an origin such as https://app.example.com, without a path");

const profileSchema = z
  .object({
    accessTokenTtl: duration("accessTokenTtl"),
    refreshAfterRatio: z.number().gt(0).max(1),
    idleTimeout: duration("idleTimeout"),
    absoluteLifetime: duration("absoluteLifetime").nullable(),
    graceWindow: duration("graceWindow"),
    refreshTransport: z.enum(["cookie", "body"]),
    exchange: z.boolean(),
  })
  .partial()
  .strict();

const limitSchema = z
  .object({ max: whole(1, 1_000_000), windowSeconds: whole(1, 86_400, "seconds") })
  .strict();

/**
 * How many proxies to believe about the client's address (client-address.ts): a hop
 * count or their addresses. `true` would believe every `X-Forwarded-For` entry, the
 * client-written left-most one included, so it is refused with what to write instead.
 */
const trustProxySchema = z.union(
  [
    z.literal(false),
    z.number().int().min(0).max(10),
    z.array(z.string().refine(isProxyEntry, "must be an IP address or a CIDR range")).min(1).max(100),
  ],
  {
    error: (issue) =>
      issue.input === true
        ? "true would let every client choose its own address; give the number of proxies in front of the server (e.g. 1) or their addresses"
        : "must be false, a number of proxy hops, or a list of proxy addresses",
  },
);

/** Every setting, validated; unknown keys are errors so a typo never goes unnoticed. */
export const configSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(3000),
    host: z.string().min(1).default("localhost"),
    issuer: z.url({ protocol: /^https?$/ }).optional(),
    store: z.string().min(1).default("sqlite:./data/prolong.db"),
    audience: z.string().min(1).default("prolong"),
    alg: z.enum(signingAlgs as [SigningAlg, ...SigningAlg[]]).default("EdDSA"),
    /**
     * Seconds of clock skew tolerated on access tokens by the server's own checks; unset,
     * the verifier's default (5 s), so the server and resource servers agree.
     */
    clockTolerance: z.number().min(0).max(300).optional(),
    adminToken: z.string().min(16, "must be at least 16 characters").optional(),
    resourceSecret: z.string().min(16, "must be at least 16 characters").optional(),
    keyEncryptionKey: z.string().min(16, "must be at least 16 characters").optional(),
    allowedOrigins: z.array(origin).default([]),
    /**
     * Seconds verifiers may cache the JWKS (its `Cache-Control: max-age`). A next key is
     * published at least this long before it signs (docs/protocol.md, "Key publication"),
     * so a longer max-age means fewer fetches but a longer wait before a rotation.
     */
    jwksMaxAge: z.number().int().min(1).max(86_400).default(300),
    trustProxy: trustProxySchema.default(false),
    /** Demo user, page and API: only when asked for (`--demo`, `PROLONG_DEMO=1`). */
    demo: z.boolean().default(false),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    profiles: z.record(z.string(), profileSchema).default({}),
    clients: z.record(z.string(), z.object({ profile: z.string() }).strict()).default({}),
    rateLimits: z
      .object({
        login: limitSchema,
        loginPerAccount: limitSchema,
        refresh: limitSchema,
        refreshPerSession: limitSchema,
      })
      .partial()
      .strict()
      .default({}),
  })
  .strict();

/** A resolved configuration: every rate limit filled in (limits.ts). */
export type ServerConfig = Omit<z.output<typeof configSchema>, "rateLimits"> & {
  issuer: string;
  rateLimits: RateLimits;
};

export type { RateLimitConfig, RateLimits };

/** Environment variables and the setting each one sets. */
const ENV: Record<string, keyof z.input<typeof configSchema>> = {
  PROLONG_PORT: "port",
  PROLONG_HOST: "host",
  PROLONG_ISSUER: "issuer",
  PROLONG_STORE: "store",
  PROLONG_AUDIENCE: "audience",
  PROLONG_ALG: "alg",
  PROLONG_ADMIN_TOKEN: "adminToken",
  PROLONG_RESOURCE_SECRET: "resourceSecret",
  PROLONG_KEY_ENCRYPTION_KEY: "keyEncryptionKey",
  PROLONG_LOG_LEVEL: "logLevel",
  PROLONG_DEMO: "demo",
};

const NUMERIC = new Set(["port"]);
const BOOLEAN = new Set(["demo"]);
const BOOLEANS = new Map([
  ["1", true],
  ["true", true],
  ["0", false],
  ["false", false],
]);

/** Reads env vars that mirror settings; an unknown `PROLONG_*` name is an error, not a silent no-op. */
export function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("PROLONG_") || value === undefined || value === "") continue;
    const key = ENV[name];
    if (!key) throw new ProlongError("invalid_config", `${name}: unknown environment variable`);
    if (BOOLEAN.has(key)) {
      const flag = BOOLEANS.get(value.toLowerCase());
      if (flag === undefined)
        throw new ProlongError("invalid_config", `${name}: must be 1, true, 0 or false`);
      out[key] = flag;
    } else out[key] = NUMERIC.has(key) ? Number(value) : value;
  }
  return out;
}

export function fromFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ProlongError("invalid_config", `--config ${path}: cannot be read`, { cause });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new ProlongError("invalid_config", `--config ${path}: not a JSON object`, { cause });
  }
}

/** Merges layers (later wins) and validates; throws `invalid_config` naming each bad setting. */
export function resolveConfig(...layers: Record<string, unknown>[]): ServerConfig {
  const merged = Object.assign({}, ...layers);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join(".") || "(config)";
      if (issue.code === "unrecognized_keys")
        return `${issue.keys.map((k) => [path, k].filter((p) => p !== "(config)").join(".")).join(", ")}: unknown setting`;
      return `${path}: ${issue.message}`;
    });
    throw new ProlongError("invalid_config", problems.join("; "));
  }
  const config = result.data;
  if (config.port === 0 && config.issuer === undefined) {
    throw new ProlongError(
      "invalid_config",
      "issuer: required with port 0, whose real port is only known later",
    );
  }
  const issuer = (config.issuer ?? `http://localhost:${config.port}`).replace(/\/+$/, "");
  const policy = policyOf(config);
  return { ...config, issuer, rateLimits: resolveRateLimits(config.rateLimits, policy) };
}

/**
 * Seconds a next key is published before it may sign (docs/protocol.md, "Key
 * publication"): the JWKS max-age, plus 5 s for every server to reload the ring (it
 * does every 2 s) and for skew between the clock that wrote the key's `createdAt` and
 * the one that reads it.
 */
export function publishAheadOf(config: Pick<ServerConfig, "jwksMaxAge">): number {
  return config.jwksMaxAge + 5;
}

/** The default policy with the configured overrides; validated. */
export function policyOf(config: Pick<ServerConfig, "profiles" | "clients">): Policy {
  const policy = defaultPolicy();
  for (const [name, overrides] of Object.entries(config.profiles)) {
    const base = policy.profiles[name] ?? policy.profiles.web;
    policy.profiles[name] = { ...(base as Profile), ...stripUndefined(overrides) };
  }
  for (const [id, client] of Object.entries(config.clients)) policy.clients[id] = client;
  validatePolicy(policy);
  return policy;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
