import { z } from "zod";
import { configSettings, resolveConfig } from "./config.js";
import { alternatives } from "./nearest-names.js";
import type { Setting } from "./setting-tree.js";

/** The part of a JSON Schema (as zod writes it) the reference reads. */
interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
}

/** How `prolong` reads its settings; every file it names ships with the repository. */
const INTRO = `# Configuration reference

<!-- Generated from the settings in packages/server/src/config.ts by
\`node packages/server/scripts/config-reference.mjs\` (after \`npm run build\`): edit those, then regenerate. -->

\`prolong serve\` takes its settings from a JSON file (\`--config FILE\`), from \`PROLONG_*\`
environment variables and from flags: flags beat environment variables, which beat the
file. They merge field by field at every level, so a nested setting left out keeps the
value beneath it or its default (\`{ "rateLimits": { "login": { "max": 5 } } }\` keeps
the default window). Every other \`prolong\` command takes \`--config FILE\` and
\`--store SPEC\` too, so it works on the server's store with the server's rules. An app
embedding the server passes the same settings to \`resolveConfig()\`.

A setting that is unknown or out of its bounds stops the server before it listens, with
a message naming the setting; a misspelt name comes with the nearest valid ones
(\`profiles.web.idleTimout: unknown setting; did you mean idleTimeout?\`), and so does an
unknown \`PROLONG_*\` variable. Durations are whole seconds.`;

/** A configuration file using the nested settings; checked by `resolveConfig` when rendered. */
const EXAMPLE = {
  issuer: "https://auth.example.com",
  allowedOrigins: ["https://app.example.com"],
  trustProxy: 1,
  profiles: { web: { idleTimeout: 86_400, absoluteLifetime: 259_200, exchange: true } },
  clients: { ios: { profile: "native" } },
  rateLimits: { loginPerAccount: { max: 5, windowSeconds: 900 } },
};

/**
 * The configuration reference, docs/configuration.md: every setting of `configSchema`
 * with its type and bounds (from the schema), its default (from a configuration resolved
 * from nothing, so computed defaults such as the profiles' are the ones in force), the
 * environment variable and flag that set it, and its description.
 */
export function configReference(): string {
  resolveConfig(EXAMPLE);
  const resolved = resolveConfig({});
  const defaults: Record<string, unknown> = { ...resolved, ...resolved.policy };
  const leaves = (settings: readonly Setting[]): Setting[] =>
    settings.flatMap((s) => (s.children.length > 0 ? leaves(s.children) : [s]));

  const plain = configSettings.filter((s) => s.children.length === 0);
  const sections = configSettings
    .filter((s) => s.children.length > 0)
    .map((s) => {
      const heading = s.record ? [...s.path, `<${s.doc.key ?? "key"}>`].join(".") : s.path.join(".");
      return `## \`${heading}\`\n\n${s.doc.description}\n\n${table(leaves(s.children), defaults)}`;
    });
  const example = `## Example\n\n\`\`\`json\n${JSON.stringify(EXAMPLE, null, 2)}\n\`\`\``;
  return `${[INTRO, `## Settings\n\n${table(plain, defaults)}`, ...sections, example].join("\n\n")}\n`;
}

/** A table of settings; the environment and flag columns only where some setting has one. */
function table(settings: Setting[], defaults: Record<string, unknown>): string {
  const withEnv = settings.some((s) => s.doc.env);
  const withFlag = settings.some((s) => s.doc.flag);
  const columns = [
    "setting",
    "type",
    "default",
    ...(withEnv ? ["environment"] : []),
    ...(withFlag ? ["flag"] : []),
    "description",
  ];
  const rows = settings.map((s) => {
    const json = z.toJSONSchema(s.schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    return [
      code(s.path.join(".")),
      typeText(json, s.doc.unit),
      s.doc.default ?? defaultText(s.path, defaults, s.doc.unit),
      ...(withEnv ? [s.doc.env ? code(s.doc.env) : ""] : []),
      ...(withFlag ? [s.doc.flag ? code(s.doc.flag) : ""] : []),
      s.doc.description,
    ];
  });
  return [columns, columns.map(() => "---"), ...rows]
    .map((cells) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`)
    .join("\n");
}

/** `integer (1 to 86400 s, 1 day)`, `one of \`cookie\`, \`body\``, `URL`, … */
function typeText(json: JsonSchema, unit: "seconds" | undefined): string {
  if (json.anyOf) return alternatives(json.anyOf.map((option) => typeText(option, unit)));
  if (json.enum) return `one of ${json.enum.map((v) => code(String(v))).join(", ")}`;
  if (json.const !== undefined) return code(JSON.stringify(json.const));
  switch (json.type) {
    case "integer":
    case "number": {
      const bounds = numberBounds(json, unit);
      return bounds ? `${json.type} (${bounds})` : json.type;
    }
    case "string":
      if (json.format === "uri") return "URL";
      if (json.minLength === 1) return "non-empty string";
      return json.minLength ? `string (at least ${json.minLength} characters)` : "string";
    case "array": {
      const count =
        json.minItems !== undefined && json.maxItems !== undefined
          ? `${json.minItems} to ${json.maxItems} `
          : "";
      return `list of ${count}${plural(json.items ? typeText(json.items, unit) : "value")}`;
    }
    case "boolean":
      return "`true` or `false`";
    case "null":
      return "`null`";
    default:
      return "value";
  }
}

function numberBounds(json: JsonSchema, unit: "seconds" | undefined): string {
  const s = unit === "seconds" ? " s" : "";
  const top = json.maximum !== undefined ? `${json.maximum}${s}${human(json.maximum, unit, ", ")}` : "";
  if (json.exclusiveMinimum !== undefined)
    return `above ${json.exclusiveMinimum}${top ? `, at most ${top}` : ""}`;
  if (json.minimum !== undefined && top) return `${json.minimum} to ${top}`;
  if (json.minimum !== undefined) return `at least ${json.minimum}${s}`;
  return top ? `at most ${top}` : "";
}

function plural(type: string): string {
  if (type === "URL") return "URLs";
  return type.replace(/^(integer|number|string)/, "$1s");
}

/** The default of a setting as resolved; under a record, one per default key (`web`, `native`). */
function defaultText(path: string[], defaults: Record<string, unknown>, unit: "seconds" | undefined): string {
  const found = valuesAt(defaults, path, []);
  if (found.length === 0) return "unset";
  const shown = found.map(([keys, value]) => [keys, valueText(value, unit)] as const);
  if (shown.every(([, text]) => text === shown[0]?.[1])) return shown[0]?.[1] ?? "unset";
  return shown.map(([keys, text]) => `${keys.map(code).join(".")}: ${text}`).join("; ");
}

/** The values at `path`, where a `<key>` segment stands for every key of a record. */
function valuesAt(value: unknown, path: string[], keys: string[]): [string[], unknown][] {
  const [segment, ...rest] = path;
  if (segment === undefined) return value === undefined ? [] : [[keys, value]];
  if (typeof value !== "object" || value === null) return [];
  const record = value as Record<string, unknown>;
  if (/^<.+>$/.test(segment))
    return Object.keys(record).flatMap((key) => valuesAt(record[key], rest, [...keys, key]));
  return Object.hasOwn(record, segment) ? valuesAt(record[segment], rest, keys) : [];
}

function valueText(value: unknown, unit: "seconds" | undefined): string {
  if (Array.isArray(value) && value.length === 0) return "none";
  if (typeof value === "string") return code(value);
  if (typeof value === "number") return `${code(String(value))}${human(value, unit)}`;
  return code(JSON.stringify(value));
}

const UNITS: [number, string][] = [
  [365 * 86_400, "year"],
  [86_400, "day"],
  [3600, "hour"],
  [60, "minute"],
];

/** ` (7 days)` (or `, 7 days`) for 604800 seconds: the largest unit that divides it; nothing under a minute. */
function human(value: number, unit: "seconds" | undefined, style: " (" | ", " = " ("): string {
  if (unit !== "seconds") return "";
  const found = UNITS.find(([size]) => value >= size && value % size === 0);
  if (!found) return "";
  const count = value / found[0];
  return `${style}${count} ${found[1]}${count === 1 ? "" : "s"}${style === " (" ? ")" : ""}`;
}

function code(text: string): string {
  return `\`${text}\``;
}
