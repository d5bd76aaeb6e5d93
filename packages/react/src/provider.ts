import {
  type AccessTokenClaims,
  createSessionClient,
  type SessionClient,
  type SessionClientOptions,
  type TokenAnswer,
} from "@prolong/client";
import {
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from "react";
import { SessionState, type SessionStatus } from "./session-state.js";

/**
 * Either a client you made (and may use outside React too), or the options to make one;
 * and, in a server-rendered app, `initial`: the session the server rendered the page with
 * (`{ access_token, expires_in }`, `expires_in` being what the token has left), or `null`
 * when it rendered the page signed out. Read once, at the first render.
 */
export type ProlongProviderProps = { children?: ReactNode; initial?: TokenAnswer | null } & (
  | { client: SessionClient; options?: undefined }
  | { options: SessionClientOptions; client?: undefined }
);

/** What `useSession()` returns. The functions keep their identity for the provider's lifetime. */
export interface Session {
  status: SessionStatus;
  claims: AccessTokenClaims | null;
  /** The client's `fetch`: the access token added for allowed origins, a `401` renewed and retried once. */
  fetch: SessionClient["fetch"];
  /** Signs in with a username and password; rejects with the server's answer when refused. */
  signIn: SessionClient["signIn"];
  /** Ends the session here and at the server; resolves once the server was told (or unreachable). */
  signOut: SessionClient["signOut"];
  /** The client itself, for what the hook does not cover (`on("error")`, the axios adapter). */
  client: SessionClient;
}

const SessionContext = createContext<SessionState | null>(null);

/**
 * A client from options, stopped at once. React may call a state initializer twice and
 * keep one result (Strict Mode does, on purpose); the client's constructor opens the
 * cross-tab channel and listens on `window`, so the copy thrown away would keep both and
 * hear the kept one's tokens. Stopped, it holds nothing; the provider's effect starts the
 * one that is kept.
 */
function idleClient(options: SessionClientOptions): SessionClient {
  const client = createSessionClient(options);
  client.stop();
  return client;
}

/**
 * Makes the session available to `useSession()` below it. Mounting starts the client
 * (resuming a session from the cookie or storage, or from `initial` without a request);
 * unmounting stops it, with no timer, listener, lock wait or channel left behind.
 * `options` and `initial` are read once, at the first render, on the server as at
 * hydration, which then render the same status.
 */
export function ProlongProvider(props: ProlongProviderProps): ReactElement {
  const [own] = useState(() => (!props.client && props.options ? idleClient(props.options) : null));
  const client = props.client ?? own;
  if (!client) {
    throw Object.assign(new TypeError("ProlongProvider: pass `client` or `options`, and keep to one"), {
      code: "invalid_provider_props",
    });
  }
  const [initial] = useState(() => props.initial);
  const state = useMemo(() => new SessionState(client, initial), [client, initial]);
  useEffect(() => state.start(), [state]);
  return createElement(SessionContext.Provider, { value: state }, props.children);
}

/**
 * The session of the nearest `ProlongProvider`: its status, claims, `fetch`, `signIn`
 * and `signOut`. Re-renders when the session starts, is renewed or ends.
 */
export function useSession(): Session {
  const state = useContext(SessionContext);
  if (!state) {
    throw Object.assign(new Error("useSession() must be called below a <ProlongProvider>"), {
      code: "no_provider",
    });
  }
  const { status, claims } = useSyncExternalStore(
    state.subscribe,
    state.getSnapshot,
    state.getServerSnapshot,
  );
  const actions = useMemo(() => actionsOf(state.client), [state]);
  return useMemo(() => ({ status, claims, ...actions }), [status, claims, actions]);
}

function actionsOf(client: SessionClient): Pick<Session, "fetch" | "signIn" | "signOut" | "client"> {
  return {
    fetch: (...args) => client.fetch(...args),
    signIn: (...args) => client.signIn(...args),
    signOut: () => client.signOut(),
    client,
  };
}
