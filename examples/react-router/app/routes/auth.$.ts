// prolong's routes under /auth, answered in-process: the token endpoint the server
// renews with, the device list API, the JWKS, sign-out. The URL is passed on unchanged.
import { prolong } from "../prolong.server";
import type { Route } from "./+types/auth.$";

export function loader({ request }: Route.LoaderArgs) {
  return prolong.fetch(request);
}

export function action({ request }: Route.ActionArgs) {
  return prolong.fetch(request);
}
