// prolong's routes under /auth, the issuer's path: the token endpoint, JWKS, the device
// list, sign-out, the admin API. Each Request goes to prolong's Fetch handler unchanged.
import { getProlong } from "../../../lib/prolong";

// prolong runs on Node (its store, its crypto); never prerendered, never cached.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function handle(request: Request): Promise<Response> {
  const prolong = await getProlong();
  return prolong.fetch(request);
}

export {
  handle as DELETE,
  handle as GET,
  handle as HEAD,
  handle as OPTIONS,
  handle as PATCH,
  handle as POST,
};
