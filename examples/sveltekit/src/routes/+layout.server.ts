import { userById } from "$lib/server/users";
import type { LayoutServerLoad } from "./$types";

export const load: LayoutServerLoad = ({ locals }) => ({
  user: locals.session ? userById(locals.session.subject) : null,
});
