import { readFileSync } from "node:fs";
import {
  defaultPolicy,
  type Policy,
  type Profile,
  ProlongError,
  type SigningAlg,
  signingAlgs,
  validatePolicy,
} from "@prolong/core";
import { z } from "zod";

const seconds = z.number().positive();

const profileSchema = z
  .object({
    accessTokenTtl: seconds,
    refreshAfterRatio: z.number().gt(0).max(1),
    idleTimeout: seconds,
    absoluteLifetime: seconds.nullable(),
    graceWindow: z.number().min(0),
    refreshTransport: z.enum(["cookie", "body"]),
  })
  .partial()
  .strict();

const limitSchema = z.object({ max: z.number().int().positive(), windowSeconds: seconds }).strict();

/** Every setting, validated; unknown keys are errors so a typo never goes unnoticed. */
export const configSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(3000),
    host: z.string().min(1).default("localhost"),
    issuer: z.url({ protocol: /^https?$/ }).optional(),
    store: z.string().min(1).default("sqlite:./data/prolong.db"),
    audience: z.string().min(1).default("prolong"),
    alg: z.enum(signingAlgs as [SigningAlg, ...SigningAlg[]]).default("EdDSA"),
    adminToken: z.string().min(16, "must be at least 16 characters").optional(),
    resourceSecret: z.string().min(16, "must be at least 16 characters").optional(),
    keyEncryptionKey: z.string().min(16, "must be at least 16 characters").optional(),
    allowedOrigins: z.array(z.url()).default([]),
    /**
     * Seconds verifiers may cache the JWKS (its `Cache-Control: max-age`). A next key is
     * published at least this long before it signs (docs/protocol.md, "Key publication"),
     * so a longer max-age means fewer fetches but a longer wait before a rotation.
     */
    jwksMaxAge: z.number().int().min(1).max(86_400).default(300),
    trustProxy: z.boolean().default(false),
    demo: z.boolean().default(true),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    profiles: z.record(z.string(), profileSchema).default({}),
    clients: z.record(z.string(), z.object({ profile: z.string() }).strict()).default({}),
    rateLimits: z
      .object({ login: limitSchema, refresh: limitSchema, refreshPerSession: limitSchema })
      .partial()
      .strict()
      .default({}),
  })
  .strict();

export type ServerConfig = z.output<typeof configSchema> & { issuer: string };

export type RateLimitConfig = { max: number; windowSeconds: number };

export const defaultRateLimits: Record<"login" | "refresh" | "refreshPerSession", RateLimitConfig> = {
  login: { max: 20, windowSeconds: 60 },
  refresh: { max: 300, windowSeconds: 60 },
  refreshPerSession: { max: 20, windowSeconds: 60 },
};

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
};

const NUMERIC = new Set(["port"]);

/** Reads env vars that mirror settings; an unknown `PROLONG_*` name is an error, not a silent no-op. */
export function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("PROLONG_") || value === undefined || value === "") continue;
    const key = ENV[name];
    if (!key) throw new ProlongError("invalid_config", `${name}: unknown environment variable`);
    out[key] = NUMERIC.has(key) ? Number(value) : value;
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
  policyOf({ ...config, issuer });
  return { ...config, issuer };
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
export function policyOf(config: ServerConfig): Policy {
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
