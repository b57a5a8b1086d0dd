// Debian's Chromium, headless, launched as the e2e tests launch it (test/support/browser.ts launchChromium):
// --no-sandbox as root, and no background networking out of this machine's closed network.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.E2E_CHROMIUM_PATH || '/usr/lib/chromium/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
