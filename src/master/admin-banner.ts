import type { AdminBootstrap } from "../core/users/admin-setup-service.ts";

/**
 * The start-up lines about the first admin. They go to standard output only, never to the log:
 * a setup code or a dev password is for the operator's eyes, not for log shippers.
 */
export function adminBannerLines(bootstrap: AdminBootstrap, url: string, devToken?: string): string[] {
  switch (bootstrap.kind) {
    case "exists":
      return [];
    case "from-env":
      return [`Admin user "${bootstrap.user.username}" created with the password in BERTH_ADMIN_PASSWORD`];
    case "setup-code":
      return [
        "No admin user yet. Create one with this one-time setup code (printed only here, never logged):",
        `  Setup code: ${bootstrap.code}`,
        `  curl -X POST ${url}/api/users/admin/init -H 'Content-Type: application/json' \\`,
        `    -H 'X-Berth-Setup-Code: ${bootstrap.code}' -d '{"Username":"admin","Password":"<12 or more characters>"}'`,
      ];
    case "dev":
      return [
        bootstrap.generatedPassword === undefined
          ? `Admin login: ${bootstrap.user.username} / the password in BERTH_ADMIN_PASSWORD`
          : `Admin login: ${bootstrap.user.username} / ${bootstrap.generatedPassword}  (new at every dev start; BERTH_ADMIN_PASSWORD chooses one)`,
        `Bearer token: ${devToken}`,
        `  curl -H 'Authorization: Bearer ${devToken}' ${url}/v1/user`,
      ];
  }
}
