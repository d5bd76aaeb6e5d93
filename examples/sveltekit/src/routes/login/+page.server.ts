import { setCookies } from "@prolong/ssr/sveltekit";
import { fail, redirect } from "@sveltejs/kit";
import { prolong } from "$lib/server/prolong";
import { checkPassword } from "$lib/server/users";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = ({ locals }) => {
  if (locals.session) redirect(303, "/account");
};

export const actions: Actions = {
  // The app's own login: check the user its way, then start a prolong session for its
  // user id. A plain form POST, so it works with JavaScript off.
  default: async (event) => {
    const form = await event.request.formData();
    const username = String(form.get("username") ?? "");
    const user = await checkPassword(username, form.get("password"));
    if (!user) return fail(400, { username, wrong: true });
    const deviceName = String(form.get("deviceName") ?? "").trim() || null;
    const started = await (await prolong()).startFetchSession(event.request, {
      subject: user.id,
      deviceName,
      clientAddress: event.getClientAddress(),
    });
    // The session's cookies go out with the redirect (hooks.server.ts appends them).
    setCookies(event, started.headers.getSetCookie());
    redirect(303, "/account");
  },
};
