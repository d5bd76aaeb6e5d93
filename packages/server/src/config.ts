import { readFileSync } from "node:fs";
import {
  checkedPolicy,
  DEFAULT_IMPERSONATION_MAX_TTL,
  DEFAULT_JWKS_MAX_AGE,
  defaultPolicy,
  IMPERSONATION_TTL_CEILING,
  MAX_SESSIONS_CEILING,
  type Policy,
  type Profile,
  ProlongError,
  profileBounds,
  publishAheadFor,
  refreshAfterRatioRange,
} from "@prolong/core";
import { DPOP_MODES, type DpopMode, SIGNING_ALGS, type SigningAlg } from "@prolong/protocol";
import { z } from "zod";
import { isProxyEntry } from "./client-address.js";
import { type RateLimits, resolveRateLimits } from "./limits.js";
import { alternatives, nearestNames } from "./nearest-names.js";
import type { RateLimitConfig } from "./rate-limit.js";
import { sessionCookies } from "./session-cookies.js";
import {
  allSettings,
  heldSchema,
  overlay,
  type Setting,
  settingDocs,
  settingsAt,
  settingsOf,
} from "./setting-tree.js";

/**
 * A profile duration. Its rules (whole seconds within core's `profileBounds`) are core's
 * `validatePolicy`, run once when `resolveConfig` builds the policy, so the schema checks
 * only that it is a number; the bounds are given to the reference (`meta`) to show.
 */
const duration = (setting: keyof typeof profileBounds, description: string) => {
  const { min, max } = profileBounds[setting];
  return z
    .number()
    .meta({ type: "integer", minimum: min, maximum: max })
    .register(settingDocs, { description, unit: "seconds" });
};

/** The most processes `prolong serve --workers` runs. */
export const MAX_WORKERS = 64;
const workerCount = `must be a whole number from 1 to ${MAX_WORKERS}`;

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

/**
 * A profile's settings, by type: what they must be beyond their types (the bounds, an
 * `exchange` only with an `absoluteLifetime`) is core's `validatePolicy`, written once
 * there and run once, by {@link policyOf}.
 */
const profileSchema = z
  .object({
    accessTokenTtl: duration("accessTokenTtl", "Lifetime of an access token."),
    refreshAfterRatio: z
      .number()
      .meta({ exclusiveMinimum: refreshAfterRatioRange.above, maximum: refreshAfterRatioRange.max })
      .register(settingDocs, {
        description:
          "Fraction of an access token's lifetime after which clients refresh it (its `rfa` claim, the soft expiry).",
      }),
    idleTimeout: duration("idleTimeout", "A session with no refresh for this long ends."),
    absoluteLifetime: duration(
      "absoluteLifetime",
      "A session ends this long after sign-in, whatever happens; `null` for no limit.",
    ).nullable(),
    graceWindow: duration(
      "graceWindow",
      "How long a rotated refresh token may be replayed to get the same successor (tabs refreshing at once, a lost response).",
    ),
    refreshTransport: z.enum(["cookie", "body"]).register(settingDocs, {
      description:
        "How the refresh token travels: an HttpOnly cookie (browsers) or the JSON body (native apps, servers).",
    }),
    exchange: z.boolean().register(settingDocs, {
      description:
        "Lets the profile's clients trade an access token for a new one without a refresh token (RFC 8693); needs an `absoluteLifetime`.",
    }),
    dbsc: z
      .object({
        enabled: z.boolean().register(settingDocs, {
          description:
            'Asks browsers that support Device Bound Session Credentials to register a key at sign-in; the session then refreshes only with the short-lived cookie the browser renews by signing with that key (docs/bound-sessions.md). Needs `refreshTransport` `"cookie"`.',
        }),
        cookieLifetimeSeconds: duration(
          "dbsc.cookieLifetimeSeconds",
          "Lifetime of the DBSC bound cookie: how long a copied cookie keeps working on another device.",
        ),
      })
      .partial()
      .strict()
      .register(settingDocs, {
        description: "Device Bound Session Credentials (browsers), off by default.",
      }),
    dpop: z.enum(DPOP_MODES as [DpopMode, ...DpopMode[]]).register(settingDocs, {
      description:
        "DPoP (RFC 9449, docs/bound-sessions.md): `off` ignores proofs; `allowed` binds a session to the key of the proof its sign-in came with (its refresh tokens then work only with that key) and each access token to the key of its request's proof; `required` also refuses sign-ins, grants and revocations without a proof.",
    }),
    maxSessions: z
      .object({
        max: whole(1, MAX_SESSIONS_CEILING).register(settingDocs, {
          description: "How many live sessions one user may hold with the profile's clients.",
        }),
        onLimit: z.enum(["evict", "refuse"]).register(settingDocs, {
          description:
            "At the limit, `evict` ends the user's least recently active session (its tokens are refused through the revocation feed); `refuse` answers the new sign-in 409 `session_limit`.",
        }),
      })
      // Both are required; the core's policy check names the one left out.
      .partial()
      .strict()
      .nullable()
      .register(settingDocs, {
        description:
          'Device limit (docs/session-policies.md): `{ "max": N, "onLimit": "evict" | "refuse" }`, counted across every client of the profile, checked atomically at each sign-in; impersonation sessions neither count nor are evicted.',
        default: "`null`: no limit",
      }),
  })
  .partial()
  .strict();

/** A rate-limit budget; a factory, as each budget carries its own description. */
const limit = (counts: string) =>
  z
    .object({
      max: whole(1, 1_000_000).register(settingDocs, { description: `${counts}: how many per window.` }),
      windowSeconds: whole(1, 86_400, "seconds").register(settingDocs, {
        description: `${counts}: the length of the window.`,
        unit: "seconds",
      }),
    })
    .partial()
    .strict()
    .register(settingDocs, { description: counts });

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

/** A cookie name as RFC 6265 §4.1.1 allows it (a token): no separators, no spaces. */
const cookieName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, "must be a cookie name: letters, digits and !#$%&'*+-.^_`|~");
const cookiePath = z.string().regex(/^\/[^;\s]*$/, "must be a path starting with / (no spaces or ;)");

/**
 * The session's cookies (session-cookies.ts). Their names and paths meet the rules of
 * their prefixes there, where the issuer's path is known too.
 */
const cookiesSchema = z
  .object({
    access: z
      .union([z.boolean(), z.object({ name: cookieName, path: cookiePath }).partial().strict()])
      .register(settingDocs, {
        description:
          'Also sets the access token in an httpOnly cookie (`__Host-prolong-at`, `Path=/`) on every web token answer, for server-rendered apps (docs/ssr.md): `true`, or `{ "name", "path" }`. The refresh cookie then defaults to `__Host-prolong-rt` on `Path=/` with `SameSite=Lax`, so the app\'s middleware can renew before a render.',
        default: "`false`",
      }),
    refresh: z
      .object({
        name: cookieName.register(settingDocs, {
          description: "The refresh cookie's name.",
          default: "`__Secure-prolong-rt`; `__Host-prolong-rt` with `access`",
        }),
        path: cookiePath.register(settingDocs, {
          description: "The refresh cookie's `Path`; it must cover the token endpoint.",
          default: "the issuer's path plus `/oauth`; `/` with `access`",
        }),
        sameSite: z.enum(["strict", "lax"]).register(settingDocs, {
          description: "The refresh cookie's `SameSite`.",
          default: "`strict`; `lax` with `access`",
        }),
      })
      .partial()
      .strict()
      .register(settingDocs, { description: "The web profile's refresh cookie." }),
  })
  .partial()
  .strict();

/**
 * Every setting, validated; unknown keys are errors so a typo never goes unnoticed. Each
 * carries its description (`settingDocs`), from which docs/configuration.md is generated
 * (config-reference.ts): change a setting here, then regenerate the reference.
 */
export const configSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(3000).register(settingDocs, {
      description: "TCP port to listen on; 0 takes a free one, and then `issuer` is required.",
      env: "PROLONG_PORT",
      flag: "--port <n>",
    }),
    host: z.string().min(1).default("localhost").register(settingDocs, {
      description: "Interface to bind: `0.0.0.0` or `::` for every interface.",
      env: "PROLONG_HOST",
      flag: "--host <host>",
    }),
    issuer: z
      .url({ protocol: /^https?$/ })
      .optional()
      .register(settingDocs, {
        description:
          "Public URL of this server: the `iss` of its tokens and the base of its metadata, never taken from `Host`.",
        env: "PROLONG_ISSUER",
        flag: "--issuer <url>",
        default: "`http://localhost:PORT`",
      }),
    store: z.string().min(1).default("sqlite:./data/prolong.db").register(settingDocs, {
      description:
        "Where users, sessions and keys live: `sqlite:PATH` (a SQLite file, created if missing), `postgres://USER:PASSWORD@HOST:PORT/DB` (run `prolong migrate` first; add `?schema=NAME` for a schema other than `public`, `max=N` for the pool size, default 10, `statementTimeout=MS` and `connectionTimeout=MS`, default 5000 each), `redis://[:PASSWORD@]HOST:PORT` (`rediss://` for TLS; add `?prefix=P` to start every key with P instead of `prolong:`), or `memory:` (in memory, lost on exit: for trials and tests). Several instances share a SQLite file on one machine, or a PostgreSQL or Redis server anywhere (docs/scale-out.md).",
      env: "PROLONG_STORE",
      flag: "--store <spec>",
    }),
    /**
     * `prolong serve` on several cores: processes sharing one port (workers.ts). Past 64
     * a number is a typo, not a machine; `memory:` is refused below.
     */
    workers: z
      .number({ error: workerCount })
      .int(workerCount)
      .min(1, workerCount)
      .max(MAX_WORKERS, workerCount)
      .default(1)
      .register(settingDocs, {
        description:
          "Processes `prolong serve` runs on one port, each a whole server on the one store: one per core at most; `1` is a single process. `memory:` is refused, as each process would have a store of its own.",
        env: "PROLONG_WORKERS",
        flag: "--workers <n>",
      }),
    audience: z.string().min(1).default("prolong").register(settingDocs, {
      description: "The `aud` of access tokens, which resource servers check.",
      env: "PROLONG_AUDIENCE",
    }),
    alg: z
      .enum(SIGNING_ALGS as [SigningAlg, ...SigningAlg[]])
      .default("EdDSA")
      .register(settingDocs, {
        description:
          "Algorithm of new signing keys; `HS256` shares one secret with every resource server (`prolong keys export`).",
        env: "PROLONG_ALG",
      }),
    /**
     * Seconds of clock skew tolerated on access tokens by the server's own checks; unset,
     * the verifier's default (5 s), so the server and resource servers agree.
     */
    clockTolerance: z.number().min(0).max(300).optional().register(settingDocs, {
      description:
        "Clock skew tolerated on access tokens by the server's own checks; keep it equal to the resource servers' `clockTolerance`.",
      unit: "seconds",
      default: "the verifier's, 5 s",
    }),
    adminToken: z.string().min(16, "must be at least 16 characters").optional().register(settingDocs, {
      description: "Bearer token of the admin API (`/admin/*`).",
      env: "PROLONG_ADMIN_TOKEN",
      default: "unset: the admin API is off",
    }),
    resourceSecret: z.string().min(16, "must be at least 16 characters").optional().register(settingDocs, {
      description:
        "Secret resource servers present for introspection and the revocation feed (`Basic resource:SECRET`).",
      env: "PROLONG_RESOURCE_SECRET",
      default: "generated once and kept in the store; `prolong secrets resource` prints it",
    }),
    keyEncryptionKey: z.string().min(16, "must be at least 16 characters").optional().register(settingDocs, {
      description:
        "Seals the private signing keys kept in the store (AES-256-GCM), those stored before it was set included, at start. While sealed keys exist the server refuses to start without it: `prolong keys unseal` (with it still set) opens them so it can be removed.",
      env: "PROLONG_KEY_ENCRYPTION_KEY",
      default: "unset: private keys are stored unencrypted",
    }),
    allowedOrigins: z.array(origin).default([]).register(settingDocs, {
      description:
        "Origins of browser apps on other sites (e.g. `https://app.example.com`, no path) that may call the server with credentials (CORS).",
    }),
    /**
     * Seconds verifiers may cache the JWKS (its `Cache-Control: max-age`). A next key is
     * published at least this long before it signs (docs/protocol.md, "Key publication"),
     * so a longer max-age means fewer fetches but a longer wait before a rotation.
     */
    jwksMaxAge: z.number().int().min(1).max(86_400).default(DEFAULT_JWKS_MAX_AGE).register(settingDocs, {
      description:
        "How long verifiers may cache the JWKS (`Cache-Control: max-age`); a next key is published this long (plus 5 s) before it signs.",
      unit: "seconds",
    }),
    trustProxy: trustProxySchema.default(false).register(settingDocs, {
      description:
        "Proxies whose `X-Forwarded-For` is believed for the client's address (rate limits, logs): how many there are, or their addresses (IP or CIDR); `true` is refused.",
    }),
    cookies: cookiesSchema.default({}).register(settingDocs, {
      description:
        "The cookies of web clients: the refresh cookie's name, path and `SameSite`, and whether the access token travels in a cookie too (server-rendered apps, docs/ssr.md).",
    }),
    /** Demo user, page and API: only when asked for (`--demo`, `PROLONG_DEMO=1`). */
    demo: z.boolean().default(false).register(settingDocs, {
      description:
        "Creates a demo user and serves the demo page and its API; for trying prolong, never in production. The variable takes `1`, `true`, `0` or `false`.",
      env: "PROLONG_DEMO",
      flag: "--demo",
    }),
    logLevel: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .register(settingDocs, {
        description:
          "Level of the JSON logs (pino) on stdout. Each request is logged at `debug`; `info` has start-up, warnings and failures.",
        env: "PROLONG_LOG_LEVEL",
      }),
    profiles: z.record(z.string(), profileSchema).default({}).register(settingDocs, {
      description:
        "Session rules per client profile. `web` and `native` exist; a setting left out keeps the profile's default, and a new profile starts from `web`.",
      key: "name",
    }),
    clients: z
      .record(
        z.string(),
        z
          .object({
            profile: z.string().register(settingDocs, {
              description: "The profile (`profiles.<name>`) whose rules the client's sessions follow.",
            }),
          })
          .strict(),
      )
      .default({})
      .register(settingDocs, {
        description:
          "Registered clients by `client_id`. `web` and `native` exist; a sign-in without `client_id` is a `web` one.",
        key: "id",
      }),
    dpop: z
      .object({
        nonce: z.boolean().register(settingDocs, {
          description:
            "Makes DPoP proofs carry a server nonce (RFC 9449 §8): a proof without the current one is answered `use_dpop_nonce` with a fresh one in `DPoP-Nonce`. Nonces are derived from the resource secret and the time, so every instance on one store agrees without storing any.",
          default: "`false`",
        }),
      })
      .partial()
      .strict()
      .default({})
      .register(settingDocs, { description: "DPoP proofs, for every profile whose `dpop` is not `off`." }),
    impersonation: z
      .object({
        maxTtlSeconds: whole(1, IMPERSONATION_TTL_CEILING, "seconds").register(settingDocs, {
          description:
            "The longest session an administrator may start as a user (`POST /admin/subjects/{id}/impersonate`, `prolong sessions impersonate`); it ends then whatever happens.",
          unit: "seconds",
          default: `\`${DEFAULT_IMPERSONATION_MAX_TTL}\``,
        }),
      })
      .partial()
      .strict()
      .default({})
      .register(settingDocs, {
        description:
          "Impersonation (docs/session-policies.md): administrators acting as a user, named in `act`.",
      }),
    rateLimits: z
      .object({
        login: limit("Wrong passwords (sign-in and `POST /password`) from one address, any account"),
        loginPerAccount: limit("Wrong passwords for one account, from any address"),
        loginPerDevice: limit(
          "Wrong passwords sent with one device token, the only budget a sign-in from a known browser or app answers to",
        ),
        failedGrants: limit(
          "Failed token-endpoint grants from one address (tokens the server never issued, failed exchanges)",
        ),
        grantsPerSession: limit("Rotations and exchanges of one session, plus its failed grants"),
      })
      .partial()
      .strict()
      .default({})
      .register(settingDocs, {
        description:
          'Budgets, each `{ "max": N, "windowSeconds": S }`: at most N per S seconds, then 429 with `Retry-After`. A field left out keeps its default; `grantsPerSession`\'s is twice what the profile with the shortest access tokens needs, and at least 20 per 60 s. The names `refresh` and `refreshPerSession` are still read, as `failedGrants` and `grantsPerSession`, but are deprecated.',
      }),
  })
  .strict();

/**
 * Settings as written in a configuration file or passed to `createProlong`: every one
 * optional, each validated by {@link resolveConfig}.
 */
export type ProlongSettings = z.input<typeof configSchema>;

/**
 * A resolved configuration: every rate limit filled in (limits.ts), and the session
 * policy the profiles and clients make, validated once, here.
 */
export type ServerConfig = Omit<z.output<typeof configSchema>, "rateLimits"> & {
  issuer: string;
  rateLimits: RateLimits;
  policy: Policy;
};

export type { RateLimitConfig, RateLimits };

/** Every setting with its description, nested ones as children (setting-tree.ts). */
export const configSettings: readonly Setting[] = settingsOf(configSchema);

/** Environment variables and the setting each one sets, from the settings' `env`. */
const ENV = new Map<string, Setting>(
  configSettings.flatMap((s) => (s.doc.env ? [[s.doc.env, s] as const] : [])),
);

const ENV_PREFIX = "PROLONG_";

const BOOLEANS = new Map([
  ["1", true],
  ["true", true],
  ["0", false],
  ["false", false],
]);

/**
 * Reads env vars that mirror settings; an unknown `PROLONG_*` name is an error, not a
 * silent no-op, and names the variables it may have meant.
 */
export function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || value === "") continue;
    const setting = ENV.get(name);
    if (!setting) throw new ProlongError("invalid_config", unknownVariable(name));
    const key = setting.path[0] as string;
    const held = heldSchema(setting.schema);
    if (held instanceof z.ZodBoolean) {
      const flag = BOOLEANS.get(value.toLowerCase());
      if (flag === undefined)
        throw new ProlongError("invalid_config", `${name}: must be 1, true, 0 or false`);
      out[key] = flag;
    } else out[key] = held instanceof z.ZodNumber ? Number(value) : value;
  }
  return out;
}

/** `PROLONG_ISSUR: unknown environment variable; did you mean PROLONG_ISSUER?` */
function unknownVariable(name: string): string {
  const known = [...ENV.keys()];
  // Compared without the prefix they all share, so `PROLONG_TOKEN` finds `PROLONG_ADMIN_TOKEN`.
  const strip = (variable: string) => variable.slice(ENV_PREFIX.length);
  const nearest = nearestNames(strip(name), known.map(strip)).map((n) => ENV_PREFIX + n);
  return `${name}: unknown environment variable; ${hint(nearest, "variables", known)}`;
}

/**
 * `profiles.web.idleTimout: unknown setting; did you mean idleTimeout?`: the nearest
 * names at that level; for a top-level name, nested settings too (`accessTokenTtl`
 * written at the top belongs under `profiles.<name>`).
 */
function unknownSetting(path: readonly PropertyKey[], key: string): string {
  const name = [...path, key].join(".");
  const level = settingsAt(configSettings, path);
  if (!level) return `${name}: unknown setting`;
  const names = level.map((s) => s.path.at(-1) as string);
  let nearest = nearestNames(key, names);
  if (nearest.length === 0 && path.length === 0) {
    const nested = allSettings(configSettings).filter((s) => s.path.length > 1);
    const close = nearestNames(key, [...new Set(nested.map((s) => s.path.at(-1) as string))]);
    nearest = nested
      .filter((s) => close.includes(s.path.at(-1) as string))
      .sort((x, y) => close.indexOf(x.path.at(-1) as string) - close.indexOf(y.path.at(-1) as string))
      .slice(0, 3)
      .map((s) => s.path.join("."));
  }
  return `${name}: unknown setting; ${hint(nearest, "settings here", names)}`;
}

function hint(nearest: string[], kind: string, valid: string[]): string {
  return nearest.length > 0 ? `did you mean ${alternatives(nearest)}?` : `valid ${kind}: ${valid.join(", ")}`;
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

/**
 * Lays the layers over each other field by field (later wins, {@link overlay}) and
 * validates; throws `invalid_config` naming each bad setting. Nested settings left out
 * keep the defaults they overlay.
 */
export function resolveConfig(...layers: Record<string, unknown>[]): ServerConfig {
  const merged = layers
    .map(renamedBudgets)
    .reduce<Record<string, unknown>>((under, layer) => overlay(under, layer), {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      if (issue.code === "unrecognized_keys") return issue.keys.map((key) => unknownSetting(issue.path, key));
      return [`${issue.path.join(".") || "(config)"}: ${issue.message}`];
    });
    // One problem once: a duration past 2^53 fails two checks with the same words.
    throw new ProlongError("invalid_config", [...new Set(problems)].join("; "));
  }
  const config = result.data;
  if (config.port === 0 && config.issuer === undefined) {
    throw new ProlongError(
      "invalid_config",
      "issuer: required with port 0, whose real port is only known later",
    );
  }
  if (config.workers > 1 && config.store === "memory:") {
    throw new ProlongError(
      "invalid_config",
      `workers: ${config.workers} processes cannot share a memory: store (each would have its own, and a session made by one would be unknown to the others); use sqlite:PATH, or one worker`,
    );
  }
  const issuer = (config.issuer ?? `http://localhost:${config.port}`).replace(/\/+$/, "");
  // Names and paths a browser would refuse or never send back stop the start, not the first sign-in.
  sessionCookies(issuer, config.cookies);
  const policy = policyOf(config);
  return { ...config, issuer, policy, rateLimits: resolveRateLimits(config.rateLimits, policy) };
}

/** Budgets renamed for what they count; the old names are read as the new ones. */
const BUDGET_RENAMES: Readonly<Record<string, string>> = {
  refresh: "failedGrants",
  refreshPerSession: "grantsPerSession",
};

/**
 * A layer of settings with each budget under its current name. An old name and its new
 * one in the same layer would leave it unclear which is meant, so that is refused.
 */
function renamedBudgets(layer: Record<string, unknown>): Record<string, unknown> {
  const budgets = layer.rateLimits;
  if (typeof budgets !== "object" || budgets === null || Array.isArray(budgets)) return layer;
  const renamed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(budgets)) {
    const current = Object.hasOwn(BUDGET_RENAMES, name) ? (BUDGET_RENAMES[name] as string) : name;
    if (current !== name && Object.hasOwn(budgets, current)) {
      throw new ProlongError(
        "invalid_config",
        `rateLimits.${name}: is the old name of rateLimits.${current}; give only ${current}`,
      );
    }
    renamed[current] = value;
  }
  return { ...layer, rateLimits: renamed };
}

/** Seconds a next key is published before it may sign: core's rule (`publishAheadFor`) for the configured max-age. */
export function publishAheadOf(config: Pick<ServerConfig, "jwksMaxAge">): number {
  return publishAheadFor(config.jwksMaxAge);
}

/**
 * The default policy with the configured overrides, validated (`checkedPolicy`, which an
 * engine does not validate again). A resolved configuration holds it as `policy`.
 */
export function policyOf(config: Pick<ServerConfig, "profiles" | "clients">): Policy {
  const policy = defaultPolicy();
  for (const [name, overrides] of Object.entries(config.profiles)) {
    const base = policy.profiles[name] ?? policy.profiles.web;
    policy.profiles[name] = overlay(base as Profile, overrides);
  }
  for (const [id, client] of Object.entries(config.clients)) policy.clients[id] = client;
  return checkedPolicy(policy);
}
