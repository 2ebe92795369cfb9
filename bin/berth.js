#!/usr/bin/env node
// Berth runs TypeScript natively, which needs Node 24. `npm install` brings it
// (the npm `node` package); this guard explains what to do when another Node runs us.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `berth needs Node 24 or newer; this is Node ${process.version}.\n` +
      "Run it through npm (`npm start`, `npx berth …`), which uses the Node 24 that `npm install` put in node_modules.\n",
  );
  process.exit(1);
}
await import("../src/cli/main.ts");
