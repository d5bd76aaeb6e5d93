import { z } from "zod";

/**
 * What the configuration reference (docs/configuration.md) says about a setting,
 * registered on the setting's schema in config.ts so the words sit next to the rule.
 */
export interface SettingDoc {
  /** One line: what the setting does. */
  description: string;
  /** The environment variable that sets it (top-level settings only). */
  env?: `PROLONG_${string}`;
  /** The `prolong serve` flag that sets it, as `--flag <value>`. */
  flag?: string;
  /** The unit of a number, shown with its bounds and default. */
  unit?: "seconds";
  /** The default when it is not a value of the schema, e.g. `http://localhost:PORT`. */
  default?: string;
  /** What the keys of a record name: `name` gives `profiles.<name>.…`. */
  key?: string;
}

/** Descriptions of settings, kept apart from zod's global registry so no consumer sees them. */
export const settingDocs = z.registry<SettingDoc>();

/** One setting of a schema, as the reference lists it and as typos are matched against. */
export interface Setting {
  /** Names from the root; a record's keys appear as `<key>` (`profiles.<name>.idleTimeout`). */
  path: string[];
  /** The schema as declared, wrappers (optional, nullable, default) included. */
  schema: z.ZodType;
  doc: SettingDoc;
  /** The fields of an object, or the one value of a record; empty for a value. */
  children: Setting[];
  /** Whether the children are a record's value, reached by any key. */
  record: boolean;
}

/** The schema under optional, nullable and default wrappers: what the setting holds. */
export function heldSchema(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable || inner instanceof z.ZodDefault) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner;
}

/** The doc registered on a schema or on one of the schemas it wraps. */
function docOf(schema: z.ZodType): SettingDoc | undefined {
  let inner: z.ZodType = schema;
  for (;;) {
    const doc = settingDocs.get(inner);
    if (doc) return doc;
    if (!(inner instanceof z.ZodOptional || inner instanceof z.ZodNullable || inner instanceof z.ZodDefault))
      return undefined;
    inner = inner.unwrap() as z.ZodType;
  }
}

/**
 * The settings of an object schema, nested ones as children. A setting without a
 * description is an error, so a new setting cannot reach the reference undocumented.
 */
export function settingsOf(schema: z.ZodObject, path: string[] = []): Setting[] {
  return Object.entries(schema.shape).map(([name, field]) => settingOf(field as z.ZodType, [...path, name]));
}

function settingOf(schema: z.ZodType, path: string[]): Setting {
  const doc = docOf(schema);
  if (!doc) throw new Error(`setting ${path.join(".")} has no description (settingDocs in config.ts)`);
  const inner = heldSchema(schema);
  if (inner instanceof z.ZodObject) {
    const children = settingsOf(inner, path);
    // What is written overlays the defaults field by field ({@link overlay}), so each
    // field of a group of settings may be left out and keep its default.
    for (const [name, field] of Object.entries(inner.shape)) {
      if (!(field as z.ZodType).isOptional())
        throw new Error(`setting ${[...path, name].join(".")} must be optional: it overlays a default`);
    }
    return { path, schema, doc, children, record: false };
  }
  if (inner instanceof z.ZodRecord) {
    const value = heldSchema(inner.valueType as z.ZodType);
    const keyPath = [...path, `<${doc.key ?? "key"}>`];
    const children = value instanceof z.ZodObject ? settingsOf(value, keyPath) : [];
    return { path, schema, doc, children, record: true };
  }
  return { path, schema, doc, children: [], record: false };
}

/**
 * The settings an object found at `path` of a configuration may hold (a record's keys
 * match any name), or `null` when nothing there holds named settings.
 */
export function settingsAt(
  settings: readonly Setting[],
  path: readonly PropertyKey[],
): readonly Setting[] | null {
  let level: readonly Setting[] = settings;
  let pending: Setting | null = null;
  for (const segment of path) {
    if (pending?.record) {
      level = pending.children;
      pending = null;
      continue;
    }
    if (pending) level = pending.children;
    pending = level.find((s) => s.path.at(-1) === String(segment)) ?? null;
    if (!pending) return null;
  }
  if (!pending) return level;
  return pending.record || pending.children.length === 0 ? null : pending.children;
}

/** Every setting, depth first, in the schema's order. */
export function allSettings(settings: readonly Setting[]): Setting[] {
  return settings.flatMap((s) => [s, ...allSettings(s.children)]);
}

/** A plain object, as JSON and configuration layers write one: not an array, not null. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `override` laid over `base` field by field, at every depth: an object merges with the
 * object under it, anything else (a value, a list, `null`) replaces it, and `undefined`
 * keeps what is under it. So `{ rateLimits: { login: { max: 5 } } }` changes one number
 * and keeps the window of the default, or of a configuration file under the variables.
 */
export function overlay<T>(base: T, override: unknown): T {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override as T;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    // Defined, not assigned: a `__proto__` key of parsed JSON stays a key (and an unknown
    // setting) instead of becoming the prototype.
    const under = Object.hasOwn(merged, key) ? merged[key] : undefined;
    Object.defineProperty(merged, key, {
      value: overlay(under, value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return merged as T;
}
