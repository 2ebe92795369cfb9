import packageJson from "../../package.json" with { type: "json" };

/** The running Berth version, as released (package.json is the single source). */
export const berthVersion: string = packageJson.version;
