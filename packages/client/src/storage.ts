/** Where a native/Node client keeps its refresh token between runs. */
export interface TokenStorage {
  get(): string | null | Promise<string | null>;
  set(refreshToken: string | null): void | Promise<void>;
}

/** The default: memory only, gone with the process. */
export function memoryStorage(): TokenStorage {
  let value: string | null = null;
  return {
    get: () => value,
    set: (next) => {
      value = next;
    },
  };
}
