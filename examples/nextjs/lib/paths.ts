/** The pages only a signed-in user sees; the middleware sends anyone else to the login page. */
export const PROTECTED_PAGES = ["/", "/devices"];

/**
 * Where to go after signing in: a path of this app, or `/`. A full URL or `//host` would
 * make the login form an open redirect.
 */
export function localPath(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) ? value : "/";
}
