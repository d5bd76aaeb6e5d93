import { index, layout, type RouteConfig, route } from "@react-router/dev/routes";

export default [
  // prolong's own routes: the token endpoint, the device list API, the JWKS…
  route("auth/*", "routes/auth.$.ts"),
  // Everything else is the app, behind the layout whose middleware renews the session.
  layout("routes/session-layout.tsx", [
    index("routes/home.tsx"),
    route("login", "routes/login.tsx"),
    route("devices", "routes/devices.tsx"),
    route("signout", "routes/signout.ts"),
    route("api/me", "routes/api.me.ts"),
  ]),
] satisfies RouteConfig;
