// Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
// (no browser is downloaded at install). Tests skip, with this one-line reason printed once, only
// when /usr/bin/chromium is missing (`apt-get install chromium`; .ci/run installs it as root).
import { existsSync } from 'node:fs';
import type { Browser, LaunchOptions } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'];

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...options });
}
