import { renewedRequest, setCookies } from "@prolong/ssr/sveltekit";
import { redirect } from "@sveltejs/kit";
import { sessions } from "$lib/server/sessions";
import type { Actions, PageServerLoad } from "./$types";

// Nothing to show at GET /logout: signing out is the form's POST.
export const load: PageServerLoad = () => redirect(303, "/");

export const actions: Actions = {
  // Revokes this session's refresh token and clears both cookies.
  default: async (event) => {
    const { setCookies: cleared } = await sessions.signOut(renewedRequest(event));
    setCookies(event, cleared);
    redirect(303, "/login");
  },
};
