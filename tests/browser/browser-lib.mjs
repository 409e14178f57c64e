// SPDX-License-Identifier: LGPL-2.1-or-later
// What the browser tests share: finding playwright-core, launching Debian's Chromium, steps
// with screenshots, and the checks. One test per process: the step and screenshot counters
// live here.

import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const buildDir = process.env.PIC_BUILD_DIR || '';
export const CHROMIUM = process.env.PIC_CHROMIUM || '/usr/bin/chromium';
export const STEP_TIMEOUT = 15000;
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                              '--disable-component-update', '--disable-sync', '--no-first-run'];
export const SHOTS = resolve(process.env.PIC_UI_SCREENSHOTS ||
                             (buildDir ? join(buildDir, 'ui-screenshots') : 'ui-screenshots'));

let tag = 'ui-test';
let shotNo = 0;
let shotPrefix = '';
export let currentStep = '';
const pageErrors = [];

/** name: the test's name in its log lines; prefix: before each screenshot's name. */
export function configure(name, prefix = '') {
        tag = name;
        shotPrefix = prefix;
        mkdirSync(SHOTS, { recursive: true });
}

export function loadPlaywright() {
        const candidates = [process.env.PIC_BROWSER_DEPS, here, buildDir && join(buildDir, 'browser-deps')].filter(Boolean);
        for (const dir of candidates) {
                if (existsSync(join(dir, 'node_modules', 'playwright-core')))
                        return createRequire(join(resolve(dir), 'package.json'))('playwright-core');
        }
        throw new Error(`playwright-core not found in ${candidates.join(', ')}: run tools/dev deps`);
}

export function log(...a) {
        console.log(`${tag}:`, ...a);
}

export async function shot(page, name) {
        shotNo++;
        const file = join(SHOTS, `${shotPrefix}${String(shotNo).padStart(2, '0')}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        log('screenshot', file);
}

export function check(cond, what) {
        if (!cond)
                throw new Error(`check failed: ${what}`);
}

export async function step(name, fn) {
        currentStep = name;
        log('step:', name);
        await fn();
        if (pageErrors.length)
                throw new Error(`page errors during "${name}": ${pageErrors.join(' | ')}`);
}

export async function fieldError(form, field) {
        const slot = form.locator(`[data-error-for="${field}"]`);
        await slot.filter({ hasText: /\S/ }).waitFor({ timeout: STEP_TIMEOUT });
        return (await slot.textContent()).trim();
}

export function watchErrors(page) {
        page.on('pageerror', e => pageErrors.push(e.message));
        page.on('console', m => {
                if (m.type() === 'error')
                        log('console error:', m.text());
        });
}

/** Asks the Python test (its sync directory) for something and waits until it says it is done. */
export async function ask(sync, what, timeoutMs = 60000) {
        writeFileSync(join(sync, `${what}.request`), '');
        const until = Date.now() + timeoutMs;
        while (!existsSync(join(sync, `${what}.done`))) {
                if (Date.now() > until)
                        throw new Error(`the test did not do "${what}" in time`);
                await new Promise(r => setTimeout(r, 50));
        }
}
