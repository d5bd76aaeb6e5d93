// How server renders find the signed-in user: the access cookie checked locally against
// prolong's keys, renewed from the refresh cookie when it is missing or due, all in-process.
import { createServerSessions } from "@prolong/ssr";
import { issuer, prolong } from "./prolong";

export const sessions = createServerSessions({
  issuer,
  // prolong's routes live in this process: no HTTP hop to reach them.
  fetch: async (request) => (await prolong()).fetch(request),
});
