#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Time to first paint of the Peers page, in a fresh browser context per round: the Cockpit page
// (inside Cockpit's shell, and alone) and the web UI through pic-gatewayd, on the same cell.
// Per round: the browser's first contentful paint, and when the first page's rows are shown (the
// page is of use), both from the start of the navigation. Prints one JSON object on stdout:
// {case: {fcp: [ms…], rows: [ms…]}}.
//
// env: PIC_COCKPIT_URL, PIC_UI_URL, PIC_ADMIN_PASSWORD, PIC_BENCH_PEERS (the cell's peers),
//      PIC_BENCH_ROWS (rows to wait for; default the first page's: 100, or fewer peers),
//      PIC_BENCH_CASES (which: "shell,alone,web", the default), PIC_BENCH_ROUNDS (default 5),
//      PIC_BROWSER_DEPS, PIC_CHROMIUM as for ui-test.mjs

import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from './browser-lib.mjs';

const COCKPIT = (process.env.PIC_COCKPIT_URL || '').replace(/\/$/, '');
const GATEWAY = (process.env.PIC_UI_URL || '').replace(/\/$/, '');
const PEERS = Number(process.env.PIC_BENCH_PEERS || 1000);
const ROWS = Number(process.env.PIC_BENCH_ROWS || Math.min(PEERS, 100));
const CASES = (process.env.PIC_BENCH_CASES || 'shell,alone,web').split(',');
const ROUNDS = Number(process.env.PIC_BENCH_ROUNDS || 5);
const TIMEOUT = 120000;

function rowsShown(n) {
        return document.querySelectorAll('tr[data-peer]').length >= n;
}

async function fcp(frame) {
        return frame.evaluate(() => {
                const e = performance.getEntriesByName('first-contentful-paint')[0];
                return e ? e.startTime : null;
        });
}

/** One round: navigate, wait for every row; {fcp, rows} in ms from the navigation's start. */
async function measure(browser, c) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        try {
                if (c.login) {
                        const res = await context.request.post(GATEWAY + '/api/login',
                                                               { data: { username: 'admin', password: process.env.PIC_ADMIN_PASSWORD } });
                        if (!res.ok())
                                throw new Error(`signing in to the gateway: ${res.status()}`);
                }
                const page = await context.newPage();
                const start = Date.now();
                await page.goto(c.url, { waitUntil: 'commit' });
                let frame = page.mainFrame();
                if (c.frame) {
                        await page.waitForSelector(`iframe[name="${c.frame}"]`, { state: 'attached', timeout: TIMEOUT });
                        frame = page.frame({ name: c.frame });
                }
                await frame.waitForFunction(rowsShown, ROWS, { timeout: TIMEOUT, polling: 'raf' });
                const rows = Date.now() - start;
                return { fcp: await fcp(page.mainFrame()), rows };
        } finally {
                await context.close();
        }
}

async function main() {
        const { chromium } = loadPlaywright();
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        const all = {
                shell: ['Cockpit page in the shell (/pic#/peers)', { url: `${COCKPIT}/pic#/peers`, frame: 'cockpit1:localhost/pic' }],
                alone: ['Cockpit page alone (cockpit/@localhost/pic)', { url: `${COCKPIT}/cockpit/@localhost/pic/index.html#peers` }],
                web: ['web UI through pic-gatewayd', { url: `${GATEWAY}/#peers`, login: true }],
        };
        const cases = Object.fromEntries(CASES.map(k => all[k]));
        const out = {};
        try {
                for (const [name, c] of Object.entries(cases)) {
                        await measure(browser, c);   // warm-up: the bridge, the gateway and the disk cache
                        out[name] = { fcp: [], rows: [] };
                }
                for (let i = 0; i < ROUNDS; i++) {   // the cases take turns: a slow moment costs each alike
                        for (const [name, c] of Object.entries(cases)) {
                                const r = await measure(browser, c);
                                out[name].fcp.push(r.fcp);
                                out[name].rows.push(r.rows);
                        }
                }
        } finally {
                await browser.close();
        }
        console.log(JSON.stringify(out));
        return 0;
}

process.exitCode = await main();
