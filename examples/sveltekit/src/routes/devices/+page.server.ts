import { redirect } from "@sveltejs/kit";
import { listDevices, revokeDevice } from "$lib/server/devices";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.session) redirect(303, "/login");
  return { devices: await listDevices(locals.session.accessToken) };
};

export const actions: Actions = {
  // "Sign out this device" next to another session.
  revoke: async ({ locals, request }) => {
    if (!locals.session) redirect(303, "/login");
    const id = String((await request.formData()).get("id") ?? "");
    await revokeDevice(locals.session.accessToken, id);
    redirect(303, "/devices");
  },
};
