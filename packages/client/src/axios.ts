import { DPOP_NONCE_HEADER, SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE } from "@prolong/protocol";
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from "axios";
import type { SessionClient } from "./client.js";

type RetriableConfig = InternalAxiosRequestConfig & {
  prolongRetried?: boolean;
  prolongNonceRetried?: boolean;
  prolongToken?: string | null;
};

/**
 * Wires a session client into an axios instance: the access token on every request to an
 * allowed origin (the issuer's and `allowedOrigins`; others go untouched), as a DPoP
 * token with its proof when the session is bound; on `401 invalid_token` one refresh and
 * one retry, on `401 use_dpop_nonce` one retry with the API's nonce (RFC 9449 §9); a
 * `401 insufficient_user_authentication` (RFC 9470) fires `stepup` and is rejected as it
 * came. Returns a function that removes both interceptors.
 */
export function attachToAxios(instance: AxiosInstance, client: SessionClient): () => void {
  const request = instance.interceptors.request.use(async (config: RetriableConfig) => {
    if (!client.allowsTokenFor(instance.getUri(config))) return config;
    const token = await client.getAccessToken();
    config.prolongToken = token;
    if (token)
      await client.authorize(config.headers, (config.method ?? "GET").toUpperCase(), urlOf(config), token);
    return config;
  });
  const response = instance.interceptors.response.use(
    (answer) => {
      const config = answer.config as RetriableConfig;
      nonceOf(config, answer.headers);
      if (
        answer.headers?.[SOFT_EXPIRY_HEADER] === SOFT_EXPIRY_VALUE &&
        client.accessToken === config.prolongToken
      ) {
        void client.refresh("soft-expiry");
      }
      return answer;
    },
    async (error: AxiosError) => {
      const config = error.config as RetriableConfig | undefined;
      const challenge = String(error.response?.headers?.["www-authenticate"] ?? "");
      // RFC 9470: a step-up is the user's to answer: reported, and the error passed on below.
      if (config?.prolongToken !== undefined) client.reportAnswer(error.response?.status, challenge);
      if (
        config &&
        nonceOf(config, error.response?.headers) &&
        !config.prolongNonceRetried &&
        error.response?.status === 401 &&
        challenge.includes("use_dpop_nonce")
      ) {
        config.prolongNonceRetried = true;
        return instance.request(config);
      }
      if (
        config?.prolongToken === undefined ||
        config.prolongRetried ||
        error.response?.status !== 401 ||
        !challenge.includes("invalid_token")
      ) {
        throw error;
      }
      config.prolongRetried = true;
      const renewed = client.accessToken !== config.prolongToken || (await client.refresh("reactive"));
      if (!renewed) throw error;
      return instance.request(config);
    },
  );
  /** The request's URL, resolved against the page as the browser resolves it. */
  const urlOf = (config: InternalAxiosRequestConfig) =>
    new URL(instance.getUri(config), (globalThis as { location?: { href: string } }).location?.href).href;
  /** Keeps the `DPoP-Nonce` an allowed origin answered with, for the next proofs to it; true when there was one. */
  const nonceOf = (config: RetriableConfig, headers?: object) =>
    config.prolongToken !== undefined &&
    client.rememberNonce(
      urlOf(config),
      (headers as Record<string, string> | undefined)?.[DPOP_NONCE_HEADER.toLowerCase()],
    );
  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}
