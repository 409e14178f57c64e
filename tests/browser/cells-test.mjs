#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Two cells' web UIs in headless Chromium (through playwright-core), as their two admins
// would use them: on B's Cells page make an invite, paste it on A's, both pages show the
// link "connected"; B shares web with A and A's page shows what B shares with it, then B
// takes it back; A offers B its uplink as an exit (after confirming), B's Cells page says so
// and B's Exits page lists exit "a" of type cell (no Remove; Test answers), then A withdraws
// it and B's exit a is down. A screenshot per step.
//
// env: PIC_UI_URL_A, PIC_UI_URL_B  the two cells' gateways (required), already set up
//      PIC_UI_PASSWORD             both cells' admin password (required)
//      PIC_UI_SCREENSHOTS, PIC_BROWSER_DEPS, PIC_CHROMIUM: as for ui-test.mjs
// Exits 0 when every step passed, 1 otherwise.

import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT, check, configure, currentStep, loadPlaywright, log, shot, step,
         watchErrors } from './browser-lib.mjs';

const URLS = { a: process.env.PIC_UI_URL_A, b: process.env.PIC_UI_URL_B };
const PASSWORD = process.env.PIC_UI_PASSWORD;
const LINK_TIMEOUT = 40000; // the first handshake, then the page's 5 s refresh
const OFFER_BOX = 'Offer this cell\'s uplink to b as its exit';

async function apiGet(page, name, path) {
        const res = await page.request.get(URLS[name].replace(/\/$/, '') + path);
        check(res.ok(), `GET ${path} on ${name}: ${res.status()}`);
        return res.json();
}

async function signIn(page, url) {
        await page.goto(url.replace(/\/$/, '') + '/');
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.getByLabel('User name').fill('admin');
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cells' }).click();
        await page.getByRole('heading', { name: 'Cells', exact: true }).waitFor();
}

async function run(pages) {
        const { a, b } = pages;
        let invite = '';

        await step('both admins sign in and open Cells', async () => {
                await signIn(a, URLS.a);
                await signIn(b, URLS.b);
                await a.getByText('No linked cells yet.').waitFor();
        });

        await step('b makes an invite', async () => {
                await b.getByRole('button', { name: 'Make an invite' }).click();
                await b.getByRole('img', { name: 'The invite as a QR code' }).waitFor();
                invite = await b.locator('#invite-text').inputValue();
                check(invite.startsWith('pic-invite1.'), 'the invite is shown as text');
                await shot(b, 'b-invite');
        });

        await step('a pastes it and links', async () => {
                const form = a.locator('form', { has: a.getByRole('heading', { name: 'Link with a cell' }) });
                await form.getByLabel('Its invite').fill(invite);
                await form.getByRole('button', { name: 'Link' }).click();
                await a.getByText('Linked with cell b.').waitFor({ timeout: LINK_TIMEOUT });
                await a.locator('[data-link="b"]').waitFor();
                await shot(a, 'a-linked');
        });

        await step('both pages show the link connected', async () => {
                await a.locator('[data-link="b"] .state-connected').waitFor({ timeout: LINK_TIMEOUT });
                await b.locator('[data-link="a"] .state-connected').waitFor({ timeout: LINK_TIMEOUT });
                check(await b.locator('[data-invite]').count() === 0, 'the invite is used up on b\'s page');
                await shot(a, 'a-connected');
                await shot(b, 'b-connected');
        });

        await step('b shares web with a; a\'s page shows it', async () => {
                await b.getByLabel('Share web with a').check();
                await a.locator('[data-remote-shared="b"]').filter({ hasText: /^web$/ }).waitFor({ timeout: LINK_TIMEOUT });
                const res = await b.request.get(URLS.b.replace(/\/$/, '') + '/api/links/a');
                const link = await res.json();
                check(JSON.stringify(link.shared) === '["web"]', `b's API says web is shared (${JSON.stringify(link.shared)})`);
                check(link.pending_push === false, 'a was told');
                await shot(b, 'b-shares-web');
                await shot(a, 'a-sees-web');
        });

        await step('b takes it back; a\'s page follows', async () => {
                await b.getByLabel('Share web with a').uncheck();
                await a.locator('[data-remote-shared="b"]').filter({ hasText: /^nothing$/ }).waitFor({ timeout: LINK_TIMEOUT });
                check(!(await b.getByLabel('Share web with a').isChecked()), 'the box stays unchecked after a refresh');
                await shot(a, 'a-sees-nothing');
        });

        await step('a offers b its uplink as an exit, after confirming; b\'s page says so', async () => {
                const dialog = a.getByRole('dialog', { name: 'Offer this cell\'s uplink to b?' });
                await a.getByLabel(OFFER_BOX).check();
                await dialog.getByRole('button', { name: 'Cancel' }).click();   // nothing offered
                await dialog.waitFor({ state: 'detached' });
                await a.waitForFunction(() => !document.querySelector('[data-offer-exit="b"]').checked);
                check((await apiGet(a, 'a', '/api/links/b')).exit_offered === false, 'a cancel offers nothing');
                await a.getByLabel(OFFER_BOX).check();
                await shot(a, 'a-offer-exit-dialog');
                await dialog.getByRole('button', { name: 'Offer' }).click();
                await dialog.waitFor({ state: 'detached' });
                await b.locator('[data-remote-exit="a"]').filter({ hasText: 'It offers us its uplink: exit a' })
                        .waitFor({ timeout: LINK_TIMEOUT });
                check(await a.getByLabel(OFFER_BOX).isChecked(), 'the box stays checked after a refresh');
                const mine = await apiGet(a, 'a', '/api/links/b');
                check(mine.exit_offered === true && mine.remote_exit_offered === false,
                      `a's API: offered to b, none from b (${mine.exit_offered}, ${mine.remote_exit_offered})`);
                const theirs = await apiGet(b, 'b', '/api/links/a');
                check(theirs.remote_exit_offered === true && theirs.exit_offered === false,
                      `b's API: offered by a (${theirs.remote_exit_offered}, ${theirs.exit_offered})`);
                await shot(a, 'a-offers-exit');
                await shot(b, 'b-offered-exit');
        });

        const exitA = b.locator('tr[data-exit="a"]');
        await step('b\'s Exits page lists exit a of type cell: no Remove, Test answers', async () => {
                await b.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Exits' }).click();
                await exitA.waitFor();
                const type = (await exitA.locator('td[data-label="Type"]').textContent()).trim();
                check(type === 'linked cell a', `its type (${type})`);
                check(await exitA.getByRole('button', { name: 'Remove a' }).count() === 0, 'no Remove button');
                await exitA.getByText('Goes with the link').waitFor();
                await exitA.getByRole('button', { name: 'Test a' }).click();
                // connected or not (the demo's cells may have no internet), the answer names the target
                await b.locator('p.status, p.form-error').filter({ hasText: '1.1.1.1:443' }).waitFor({ timeout: 10000 });
                const exits = await apiGet(b, 'b', '/api/exits');
                check(exits.some(e => e.name === 'a' && e.type === 'cell'), 'b\'s API lists exit a of type cell');
                await shot(b, 'b-exit-a');
        });

        await step('a withdraws it; b\'s exit a stays, down, and b\'s Cells page follows', async () => {
                await a.getByLabel(OFFER_BOX).uncheck();
                await exitA.locator('td.last-error').filter({ hasText: 'does not offer' }).waitFor({ timeout: LINK_TIMEOUT });
                check((await apiGet(a, 'a', '/api/links/b')).exit_offered === false, 'a\'s API: no longer offered');
                await shot(b, 'b-exit-a-down');
                await b.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cells' }).click();
                await b.locator('[data-remote-exit="a"]').filter({ hasText: 'It offers us no exit' }).waitFor();
        });
}

async function main() {
        if (!URLS.a || !URLS.b || !PASSWORD) {
                console.error('cells-test: set PIC_UI_URL_A, PIC_UI_URL_B and PIC_UI_PASSWORD');
                return 2;
        }
        configure('cells-test', 'cells-');
        const { chromium } = loadPlaywright();
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        const pages = {};
        try {
                for (const name of ['a', 'b']) {
                        // one context each: two admins, two sets of cookies
                        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
                        context.setDefaultTimeout(STEP_TIMEOUT);
                        pages[name] = await context.newPage();
                        watchErrors(pages[name]);
                }
                await run(pages);
                log('all steps passed');
                return 0;
        } catch (e) {
                console.error(`cells-test: FAILED at step "${currentStep}": ${e.message}`);
                for (const [name, page] of Object.entries(pages))
                        await shot(page, `failure-${name}`).catch(() => {});
                return 1;
        } finally {
                await browser.close().catch(() => {});
        }
}

process.exitCode = await main();
