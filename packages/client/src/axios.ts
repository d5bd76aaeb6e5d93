import { SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE } from "@prolong/protocol";
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from "axios";
import type { SessionClient } from "./client.js";

type RetriableConfig = InternalAxiosRequestConfig & {
  prolongRetried?: boolean;
  prolongToken?: string | null;
};

/**
 * Wires a session client into an axios instance: the access token on every request to an
 * allowed origin (the issuer's and `allowedOrigins`; others go untouched), and on
 * `401 invalid_token` one refresh and one retry. Returns a function that removes both
 * interceptors.
 */
export function attachToAxios(instance: AxiosInstance, client: SessionClient): () => void {
  const request = instance.interceptors.request.use(async (config: RetriableConfig) => {
    if (!client.allowsTokenFor(instance.getUri(config))) return config;
    const token = await client.getAccessToken();
    config.prolongToken = token;
    if (token) config.headers.set("Authorization", `Bearer ${token}`);
    return config;
  });
  const response = instance.interceptors.response.use(
    (answer) => {
      const config = answer.config as RetriableConfig;
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
  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}
