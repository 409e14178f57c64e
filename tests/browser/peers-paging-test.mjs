#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// The Peers page of a cell with 250 peers (peer000 … peer249, added over the bus by
// test_web_ui.py): the first 100 rows and "of 250", Next and Previous (by mouse and keyboard),
// a search by name prefix narrowing the rows and the count, a peer changed over the bus followed
// live on its row, peers added over the bus shown when they belong on the page (and only
// counted when not), one removed over the bus gone with the page filled again, the add form on
// a full page, the REST transport's reading of a page, and the 30 s resync asking for the page with
// If-None-Match (the page's clock skipped ahead); the whole list is never asked for. A screenshot
// per step.
//
// env: PIC_UI_URL, PIC_ADMIN_PASSWORD; PIC_TEST_SYNC (test_web_ui.py does what is asked there:
//      add-NAME, remove-NAME, disable-NAME); PIC_UI_SCREENSHOTS, PIC_BROWSER_DEPS, PIC_CHROMIUM as
//      for ui-test.mjs. Exits 0 when every step passed, 1 otherwise.

import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT, ask, check, configure, currentStep, loadPlaywright, log, shot, step,
         watchErrors } from './browser-lib.mjs';

const URL_BASE = (process.env.PIC_UI_URL || '').replace(/\/$/, '');
const SYNC = process.env.PIC_TEST_SYNC || '';

async function run(page) {
        const nav = page.getByRole('navigation', { name: 'Main' });
        const rows = page.locator('tr[data-peer]');
        const row = name => page.locator(`tr[data-peer="${name}"]`);
        const count = page.locator('#peer-count');
        const next = page.getByRole('button', { name: 'Next page' });
        const previous = page.getByRole('button', { name: 'Previous page' });
        const search = page.getByLabel('Search peers');
        const names = () => rows.evaluateAll(trs => trs.map(tr => tr.dataset.peer));
        const counted = async text => {
                await count.filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
        };
        const wholeLists = [];
        page.on('request', req => {
                const u = new URL(req.url());
                if (u.pathname === '/api/peers' && req.method() === 'GET' && !u.searchParams.has('limit'))
                        wholeLists.push(req.url());
        });

        await step('sign in: the dashboard counts 250 peers', async () => {
                await page.goto(URL_BASE + '/');
                await page.getByLabel('Password').fill(process.env.PIC_ADMIN_PASSWORD);
                await page.getByRole('button', { name: 'Sign in' }).click();
                await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
                await page.locator('dl.facts dt', { hasText: /^Peers$/ }).locator('xpath=following-sibling::dd[1]')
                          .filter({ hasText: /^250$/ }).waitFor();
        });

        await step('the Peers page shows the first 100 of 250', async () => {
                const start = Date.now();
                await nav.getByRole('link', { name: 'Peers' }).click();
                await counted('1–100 of 250 peers');
                log(`first page in ${Date.now() - start} ms`);
                const shown = await names();
                check(shown.length === 100, `100 rows (${shown.length})`);
                check(shown[0] === 'peer000' && shown[99] === 'peer099', `peer000 … peer099 (${shown[0]} … ${shown[99]})`);
                check(await previous.isDisabled() && !await next.isDisabled(), 'Previous off, Next on');
                check(await count.getAttribute('aria-live') === 'polite', 'the count is announced');
                await shot(page, 'paging-first');
        });

        await step('Next and Previous turn the pages, by mouse and by keyboard', async () => {
                await next.click();
                await counted('101–200 of 250 peers');
                await row('peer100').waitFor();
                check((await names()).length === 100, 'the second page has 100 rows');
                await next.focus();
                await page.keyboard.press('Enter');
                await counted('201–250 of 250 peers');
                const shown = await names();
                check(shown.length === 50 && shown[0] === 'peer200' && shown[49] === 'peer249',
                      `the last page is peer200 … peer249 (${shown.length}: ${shown[0]} … ${shown[shown.length - 1]})`);
                check(await next.isDisabled(), 'no Next on the last page');
                check(await previous.evaluate(b => b === document.activeElement), 'the keyboard is on Previous, not lost');
                await shot(page, 'paging-last');
                await page.keyboard.press('Enter');
                await counted('101–200 of 250 peers');
                await previous.click();
                await counted('1–100 of 250 peers');
                await row('peer000').waitFor();
                check(await previous.isDisabled(), 'no Previous on the first page');
        });

        await step('a search by name prefix narrows the rows and the count', async () => {
                await search.fill('peer24');
                await counted('1–10 of 10 peers');
                check((await names()).join(' ') === Array.from({ length: 10 }, (_, i) => `peer24${i}`).join(' '),
                      `peer240 … peer249 (${await names()})`);
                check(await next.isDisabled() && await previous.isDisabled(), 'one page');
                await shot(page, 'paging-search');
                await search.fill('peer1');
                await counted('1–100 of 100 peers');
                check(await next.isDisabled(), 'exactly one page of 100');
                await search.fill('zz');
                await page.getByText('No peers start with "zz".').waitFor();
                await search.fill('peer 1');
                await page.getByText(/A peer name has only letters/).waitFor();
                check(await search.getAttribute('aria-invalid') === 'true', 'the search field is marked invalid');
                await search.fill('');
                await counted('1–100 of 250 peers');
                check(await search.getAttribute('aria-invalid') === null, 'and then valid again');
        });

        await step('a peer changed over the bus is followed on its row', async () => {
                await ask(SYNC, 'disable-peer005');
                await row('peer005').locator('td[data-label="Status"]').filter({ hasText: 'Disabled' }).waitFor();
        });

        await step('a peer added over the bus appears where the page holds it; one elsewhere is only counted', async () => {
                await ask(SYNC, 'add-peer050x');
                await row('peer050x').waitFor();
                await counted('1–100 of 251 peers');
                const shown = await names();
                check(shown.indexOf('peer050x') === shown.indexOf('peer050') + 1, 'right after peer050');
                check(shown.length === 100 && shown[99] === 'peer098', `still 100 rows, to peer098 (${shown[99]})`);
                await ask(SYNC, 'add-zed');
                await counted('1–100 of 252 peers');
                check(await row('zed').count() === 0, 'zed belongs on the last page, not this one');
                await shot(page, 'paging-added');
        });

        await step('a peer removed over the bus disappears; the page fills again', async () => {
                await ask(SYNC, 'remove-peer010');
                await row('peer010').waitFor({ state: 'detached' });
                await counted('1–100 of 251 peers');
                await row('peer099').waitFor();
                check((await names()).length === 100, 'the page has 100 rows again');
        });

        await step('the add form on a full page: the new peer shows where it sorts', async () => {
                const addForm = page.locator('form.add-peer');
                await addForm.getByLabel('Name').fill('peer000a');
                await addForm.getByRole('button', { name: 'Add peer' }).click();
                await row('peer000a').waitFor();
                await counted('1–100 of 252 peers');
                check((await names())[1] === 'peer000a', 'second, after peer000');
        });

        await step('while searching, a peer added over the bus that matches shows and is counted', async () => {
                await search.fill('peer05');
                await counted('1–11 of 11 peers');
                await ask(SYNC, 'add-peer055a');
                await row('peer055a').waitFor();
                await counted('1–12 of 12 peers');
                await shot(page, 'paging-search-added');
                await search.fill('');
                await counted('1–100 of 253 peers');
        });

        await step('the REST transport reads a page, its total, the next cursor, a 304 and a refusal', async () => {
                const r = await page.evaluate(async () => {
                        const { createRestApi } = await import('/static/api-rest.js');
                        const api = createRestApi();
                        const first = await api.listPeerPage({ limit: 2, prefix: 'peer00' });
                        const second = await api.listPeerPage({ limit: 2, prefix: 'peer00', cursor: first.next });
                        const again = await api.listPeerPage({ limit: 2, prefix: 'peer00', etag: first.etag });
                        let refused = null;
                        try {
                                await api.listPeerPage({ limit: 1001 });
                        } catch (e) {
                                refused = { status: e.status, field: e.field };
                        }
                        const names = x => x.peers.map(p => p.name).join(' ');
                        return { first: [names(first), first.total, first.next], second: [names(second), second.next],
                                 again, refused };
                });
                check(JSON.stringify(r.first) === '["peer000 peer000a",11,"peer000a"]', `first page ${JSON.stringify(r.first)}`);
                check(JSON.stringify(r.second) === '["peer001 peer002","peer002"]', `second page ${JSON.stringify(r.second)}`);
                check(r.again.notModified === true, `asked with its ETag: not modified (${JSON.stringify(r.again)})`);
                check(r.refused && r.refused.status === 400 && r.refused.field === 'limit', `limit 1001 refused by name (${JSON.stringify(r.refused)})`);
        });

        await step('the 30 s resync asks for the page with its ETag: 304, nothing changed', async () => {
                const revalidated = page.waitForResponse(res => {
                        const u = new URL(res.url());
                        return u.pathname === '/api/peers' && u.searchParams.get('limit') === '100' &&
                               !!res.request().headers()['if-none-match'];
                });
                await page.clock.fastForward('00:31');
                const res = await revalidated;
                check(res.status() === 304, `the page asked again with If-None-Match: ${res.status()}`);
                await counted('1–100 of 253 peers');
                check((await names()).length === 100, 'the rows stay');
        });

        await step('the whole list was never asked for', async () => {
                check(wholeLists.length === 0, `GET /api/peers without a limit: ${wholeLists.join(', ')}`);
        });
}

async function main() {
        if (!URL_BASE || !SYNC) {
                console.error('peers-paging-test: set PIC_UI_URL and PIC_TEST_SYNC');
                return 2;
        }
        const { chromium } = loadPlaywright();
        configure('peers-paging-test');
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        let page = null;
        try {
                const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
                context.setDefaultTimeout(STEP_TIMEOUT);
                page = await context.newPage();
                await page.clock.install();   // time flows, and the resync's 30 s can be skipped
                watchErrors(page);
                await run(page);
                log('all steps passed');
                return 0;
        } catch (e) {
                console.error(`peers-paging-test: FAILED at step "${currentStep}": ${e.message}`);
                if (page)
                        await shot(page, 'failure').catch(() => {});
                return 1;
        } finally {
                await browser.close().catch(() => {});
        }
}

process.exitCode = await main();
