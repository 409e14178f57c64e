#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// The web UI through a TLS proxy (issue 8, --trusted-proxy), in headless Chromium: the admin
// signs in over https (the session cookie is Secure, the page a secure context) and adds a peer
// (a write, so the gateway took the browser's https Origin). A screenshot per step.
//
// env: PIC_UI_URL           the proxy's https URL, e.g. https://pic.test:8443 (required)
//      PIC_UI_PASSWORD      the admin password (required)
//      PIC_UI_HOST_RULES    Chromium's --host-resolver-rules (e.g. "MAP pic.test 127.0.0.1")
//      PIC_UI_CERT_SPKI     base64 SHA-256 of the test certificate's public key: Chromium accepts that
//                           certificate (--ignore-certificate-errors-spki-list), no other
//      PIC_UI_SCREENSHOTS, PIC_BROWSER_DEPS, PIC_CHROMIUM: as for ui-test.mjs
// Exits 0 when every step passed, 1 otherwise.

import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT, check, configure, currentStep, loadPlaywright, log, shot, step,
         watchErrors } from './browser-lib.mjs';

const URL_BASE = (process.env.PIC_UI_URL || '').replace(/\/$/, '');
const PASSWORD = process.env.PIC_UI_PASSWORD || '';

async function run(page, context) {
        await step('the sign-in page over https', async () => {
                const res = await page.goto(URL_BASE + '/');
                check(res.ok(), `GET / through the proxy: ${res.status()}`);
                await page.getByRole('heading', { name: 'Sign in' }).waitFor();
                check(await page.evaluate(() => window.isSecureContext && location.protocol === 'https:'),
                      'the page is a secure context served over https');
                await shot(page, 'login');
        });

        await step('sign in as admin: the session cookie is Secure', async () => {
                await page.getByLabel('User name').fill('admin');
                await page.getByLabel('Password').fill(PASSWORD);
                await page.getByRole('button', { name: 'Sign in' }).click();
                await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
                const cookies = await context.cookies(URL_BASE);
                const session = cookies.find(c => c.name === 'pic_session');
                check(session, `a session cookie (${cookies.map(c => c.name).join(', ')})`);
                check(session.secure && session.httpOnly && session.sameSite === 'Strict',
                      `Secure, HttpOnly, SameSite=Strict (${JSON.stringify(session)})`);
                await shot(page, 'dashboard');
        });

        await step('add a peer (a write through the proxy)', async () => {
                await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Peers' }).click();
                await page.getByRole('heading', { name: 'Peers', exact: true }).waitFor();
                const addForm = page.locator('form.add-peer');
                await addForm.getByLabel('Name').fill('phone');
                await addForm.getByRole('button', { name: 'Add peer' }).click();
                await page.locator('tr[data-peer="phone"]').waitFor();
                await shot(page, 'peer-added');
        });
}

async function main() {
        if (!URL_BASE || !PASSWORD) {
                console.error('proxy-test: set PIC_UI_URL and PIC_UI_PASSWORD');
                return 2;
        }
        const { chromium } = loadPlaywright();
        configure('proxy-test', 'proxy-');
        const args = [...CHROMIUM_ARGS];
        if (process.env.PIC_UI_HOST_RULES)
                args.push(`--host-resolver-rules=${process.env.PIC_UI_HOST_RULES}`);
        if (process.env.PIC_UI_CERT_SPKI)
                args.push(`--ignore-certificate-errors-spki-list=${process.env.PIC_UI_CERT_SPKI}`);
        let browser = null;
        let page = null;
        try {
                browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
                const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
                context.setDefaultTimeout(STEP_TIMEOUT);
                page = await context.newPage();
                watchErrors(page);
                await run(page, context);
                log('all steps passed');
                return 0;
        } catch (e) {
                console.error(`proxy-test: FAILED at step "${currentStep}": ${e.message}`);
                if (page)
                        await shot(page, 'failure').catch(() => {});   // the browser may be gone
                return 1;
        } finally {
                if (browser)
                        await browser.close().catch(() => {});
        }
}

process.exitCode = await main();
