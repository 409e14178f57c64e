#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives the PIC page inside Cockpit (cockpit-ws + cockpit-bridge, Debian's Chromium through
// playwright-core): the menu entry, the dashboard, the transport's JSON against the gateway's
// for the same objects, adding a peer, its QR code, a handshake arriving live, what does not
// apply in Cockpit left out, and a change refused by polkit with the message shown.
//
// env: PIC_COCKPIT_URL     cockpit-ws, e.g. http://127.0.0.1:9090 (required)
//      PIC_UI_URL          the gateway on the same cell (required: the JSON it gives is compared)
//      PIC_ADMIN_PASSWORD  the cell's admin password (to read the gateway's JSON)
//      PIC_COCKPIT_SYNC    a directory: NAME.request asks test_cockpit.py for something
//                          (connect-PEER: a WireGuard client for PEER; deny: polkit refuses all),
//                          NAME.done says it is done
//      PIC_COCKPIT_MODE    limited: a session without administrative access (the cell is shown, a
//                          change refused); otherwise the admin's steps above
//      PIC_UI_SCREENSHOTS, PIC_BROWSER_DEPS, PIC_CHROMIUM, PIC_UI_DECODE_QR as for ui-test.mjs
// Exits 0 when every step passed, 1 otherwise.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CHROMIUM, CHROMIUM_ARGS, SHOTS, STEP_TIMEOUT, ask as askTest, check, configure, currentStep, loadPlaywright, log,
         shot, step, watchErrors } from './browser-lib.mjs';

const COCKPIT = (process.env.PIC_COCKPIT_URL || '').replace(/\/$/, '');
const GATEWAY = (process.env.PIC_UI_URL || '').replace(/\/$/, '');
const SYNC = process.env.PIC_COCKPIT_SYNC || '';
const FRAME = 'cockpit1:localhost/pic';
const ZBARIMG = '/usr/bin/zbarimg';
const DECODE_QR = process.env.PIC_UI_DECODE_QR !== '0' && existsSync(ZBARIMG);
// what moves between two reads of one object without anyone changing it
const VOLATILE = new Set(['latest_handshake', 'rx_bytes', 'tx_bytes', 'dns_state', 'state', 'last_error', 'endpoint']);

/** Asks test_cockpit.py for something and waits until it is done. */
const ask = (what, timeoutMs) => askTest(SYNC, what, timeoutMs);

/** The gateway's JSON for the cell's objects, signed in as admin. */
async function gatewayJson() {
        const login = await fetch(GATEWAY + '/api/login', {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ username: 'admin', password: process.env.PIC_ADMIN_PASSWORD }),
        });
        check(login.ok, `signing in to the gateway (${login.status})`);
        const cookie = login.headers.get('set-cookie').split(';')[0];
        const get = async path => {
                const res = await fetch(GATEWAY + path, { headers: { Cookie: cookie } });
                check(res.ok, `GET ${path} (${res.status})`);
                return res.json();
        };
        return { cell: await get('/api/cell'), peers: await get('/api/peers'), links: await get('/api/links'),
                 exits: await get('/api/exits'), pages: await gatewayPages(cookie) };
}

/** The same objects as the Cockpit transport gives them to the views, read inside the page. */
function transportJson(frame) {
        return frame.evaluate(async () => {
                const m = await import('./api-cockpit.js');
                const api = m.createCockpitApi(window.cockpit, await m.loadBusFields());
                return { cell: await api.getCell(), peers: await api.listPeers(), links: await api.listLinks(),
                         exits: await api.listExits() };
        });
}

// pages asked of both (the cell holds laptop alone then), and asked wrongly
const PAGE_QUERIES = [{ limit: 1 }, { limit: 1000, prefix: 'lap' }, { limit: 5, prefix: 'x' }, { limit: 1, cursor: 'laptop' },
                      { limit: 0 }, { limit: 1001 }, { limit: 1, prefix: 'a b' }, { limit: 1, cursor: '-x' }];

/** What GET /api/peers?… answers: {names, total, next} or {status, field}. */
async function gatewayPages(cookie) {
        const out = [];
        for (const { limit, prefix, cursor } of PAGE_QUERIES) {
                const q = new URLSearchParams({ limit: String(limit) });
                if (prefix)
                        q.set('prefix', prefix);
                if (cursor)
                        q.set('cursor', cursor);
                const res = await fetch(`${GATEWAY}/api/peers?${q}`, { headers: { Cookie: cookie } });
                const body = await res.json();
                const link = /cursor=([^>&]*)>; rel="next"/.exec(res.headers.get('link') || '');
                out.push(res.ok ? { names: body.map(p => p.name), total: Number(res.headers.get('x-total-count')),
                                    next: link ? decodeURIComponent(link[1]) : null }
                                : { status: res.status, field: body.field });
        }
        return out;
}

/** The same pages from the Cockpit transport, and its paging of a longer list than the cell holds. */
function transportPages(frame) {
        return frame.evaluate(async queries => {
                const m = await import('./api-cockpit.js');
                const api = m.createCockpitApi(window.cockpit, await m.loadBusFields());
                const out = [];
                for (const q of queries) {
                        try {
                                const r = await api.listPeerPage(q);
                                out.push({ names: r.peers.map(p => p.name), total: r.total, next: r.next });
                        } catch (e) {
                                out.push({ status: e.status, field: e.field });
                        }
                }
                const list = ['a', 'b', 'ba', 'c'].map(name => ({ name }));
                const first = m.peerPage(list, { limit: 2 });
                const second = m.peerPage(list, { limit: 2, cursor: first.next });
                return { out, longer: [first, second, m.peerPage(list, { limit: 2, prefix: 'b' }),
                                       m.peerPage(list, { limit: 2, etag: first.etag })] };
        }, PAGE_QUERIES);
}

function sameObject(what, a, b) {
        const ka = Object.keys(a).sort().join(' ');
        const kb = Object.keys(b).sort().join(' ');
        check(ka === kb, `${what}: the gateway's fields [${ka}] are the transport's [${kb}]`);
        for (const k of Object.keys(a)) {
                if (!VOLATILE.has(k))
                        check(JSON.stringify(a[k]) === JSON.stringify(b[k]),
                              `${what}.${k}: gateway ${JSON.stringify(a[k])}, transport ${JSON.stringify(b[k])}`);
        }
}

function sameLists(what, a, b) {
        check(a.length === b.length, `${what}: ${a.length} from the gateway, ${b.length} from the transport`);
        a.forEach((x, i) => sameObject(`${what}[${x.name}]`, x, b[i]));
}

async function run(page) {
        let frame = null;
        let app = null;
        await step('Cockpit shows the page in its menu', async () => {
                let csp = null;
                page.on('response', res => {
                        if (/\/pic\/index\.html/.test(res.url()))
                                csp = res.headers()['content-security-policy'] || '';
                });
                await page.goto(COCKPIT + '/system');
                const entry = page.getByRole('link', { name: 'Personal Internet Cell' });
                await entry.waitFor();
                await entry.click();
                await page.waitForURL(/\/pic/);
                app = page.frameLocator(`iframe[name="${FRAME}"]`);
                await app.getByRole('heading', { name: 'Dashboard' }).waitFor();
                await app.locator('dl.facts').getByText('home.lan').first().waitFor();
                frame = page.frame({ name: FRAME });
                check(frame, 'the page runs in its own frame');
                check(await app.getByRole('button', { name: 'Sign out' }).count() === 0, 'no sign-out: Cockpit is the session');
                log('Content-Security-Policy:', csp);
                // Cockpit adds its origin beside 'self'; nothing inline, nothing evaluated
                check(csp && /(^|; )script-src 'self'( http:\/\/[^ ;]+)?;/.test(csp) &&
                      /(^|; )style-src 'self'( http:\/\/[^ ;]+)?;/.test(csp) && !/unsafe/.test(csp),
                      'the page is served with the manifest\'s strict policy');
                await shot(page, 'menu');
        });

        const nav = app.getByRole('navigation', { name: 'PIC' });
        await step('settings: what belongs to the web UI is not offered', async () => {
                await nav.getByRole('link', { name: 'Settings' }).click();
                await app.getByRole('heading', { name: 'Settings' }).waitFor();
                await app.getByRole('heading', { name: 'Dynamic DNS' }).waitFor();
                check(await app.getByRole('heading', { name: 'Administrator password' }).count() === 0,
                      'no web UI admin password form');
                check(await app.getByRole('heading', { name: /backup/i }).count() === 0, 'no backup section');
                await shot(page, 'settings');
        });

        const row = name => app.locator(`tr[data-peer="${name}"]`);
        await step('add a peer', async () => {
                await nav.getByRole('link', { name: 'Peers' }).click();
                await app.getByRole('heading', { name: 'Peers' }).waitFor();
                await app.getByLabel('Name').fill('laptop');
                await app.getByRole('button', { name: 'Add peer' }).click();
                await app.getByText(/Peer laptop added \(10\./).waitFor();
                await row('laptop').waitFor();
                check(await row('laptop').getByRole('button', { name: 'Web login for laptop' }).count() === 0,
                      'no web login button in Cockpit');
                await shot(page, 'peer-added');
        });

        await step('its QR code', async () => {
                await app.getByRole('button', { name: 'Show the QR code of laptop' }).click();
                const dialog = app.getByRole('dialog', { name: 'QR code for laptop' });
                const svg = dialog.getByRole('img', { name: /QR code of the WireGuard configuration for laptop/ });
                await svg.waitFor();
                const box = await svg.boundingBox();
                check(box && box.width > 100, 'the QR code is drawn');
                await shot(page, 'peer-qr');
                if (DECODE_QR) {
                        // it scans back to the very configuration the cell hands out
                        const config = await frame.evaluate(async () => {
                                const m = await import('./api-cockpit.js');
                                return m.createCockpitApi(window.cockpit, await m.loadBusFields()).peerConfig('laptop');
                        });
                        const png = join(SHOTS, 'qr-only.png');
                        await svg.screenshot({ path: png });
                        const decoded = execFileSync(ZBARIMG, ['--nodbus', '--raw', '-q', png], { encoding: 'utf8' });
                        rmSync(png);
                        check(decoded.trim() === config.trim(), 'the QR code decodes to the peer\'s configuration');
                        log('QR code decodes to the configuration');
                }
                await dialog.getByRole('button', { name: 'Close' }).click();
        });

        await step('a handshake arrives live', async () => {
                check(/never/.test(await row('laptop').locator('td.handshake').textContent()), 'no handshake yet');
                await ask('connect-laptop');
                await row('laptop').getByText('Online').waitFor({ timeout: 30000 });
                await row('laptop').locator('td.handshake').getByText(/s ago/).waitFor();
                await shot(page, 'handshake-live');
        });

        await step('the transport gives the views what the gateway gives for the same objects (a peer with a handshake, an exit)', async () => {
                const rest = await gatewayJson();
                const bus = await transportJson(frame);
                sameObject('cell', rest.cell, bus.cell);
                sameLists('peers', rest.peers, bus.peers);
                sameLists('links', rest.links, bus.links);
                sameLists('exits', rest.exits, bus.exits);
                log(`same JSON: cell (${Object.keys(bus.cell).length} fields), ${bus.peers.length} peers, ` +
                    `${bus.exits.length} exits, ${bus.links.length} links`);
        });

        await step('the transport pages peers as the gateway does', async () => {
                const rest = await gatewayJson();
                const bus = await transportPages(frame);
                PAGE_QUERIES.forEach((q, i) => check(JSON.stringify(rest.pages[i]) === JSON.stringify(bus.out[i]),
                                                     `${JSON.stringify(q)}: gateway ${JSON.stringify(rest.pages[i])}, ` +
                                                     `transport ${JSON.stringify(bus.out[i])}`));
                const [first, second, prefixed, again] = bus.longer;
                const said = r => JSON.stringify([r.peers.map(p => p.name), r.total, r.next]);
                check(said(first) === '[["a","b"],4,"b"]', `a, b of 4, then after b (${said(first)})`);
                check(said(second) === '[["ba","c"],4,null]', `then ba, c, the last (${said(second)})`);
                check(said(prefixed) === '[["b","ba"],2,null]', `b… is b, ba (${said(prefixed)})`);
                check(again.notModified === true, 'the same page asked with its ETag is not sent again');
                log(`same pages for ${PAGE_QUERIES.length} queries`);
        });

        await step('a change polkit refuses is refused with the message shown', async () => {
                await ask('deny');
                await app.getByLabel('Name').fill('tablet');
                await app.getByRole('button', { name: 'Add peer' }).click();
                const error = app.locator('form.add-peer .form-error, form.add-peer [data-error-for]').filter({ hasText: /\S/ });
                await error.first().waitFor();
                const text = (await error.first().textContent()).trim();
                log('refused with:', text);
                check(/not permitted/i.test(text), `the message says it is not permitted: ${text}`);
                check(await row('tablet').count() === 0, 'no tablet row');
                check(await row('laptop').count() === 1, 'laptop still shown (read-only state stays)');
                await shot(page, 'refused');
        });
}

/** A session without administrative access: the state shown, a change refused, its words shown. */
async function runLimited(page) {
        const app = page.frameLocator(`iframe[name="${FRAME}"]`);
        await step('limited session: the cell is shown', async () => {
                await page.goto(COCKPIT + '/pic#/peers');
                await app.getByRole('heading', { name: 'Peers' }).waitFor();
                await app.locator('tr[data-peer="laptop"]').waitFor();
                check((await app.locator('#user .who').textContent()).trim() === 'nobody', 'Cockpit\'s user is shown');
                await shot(page, 'limited-peers');
        });
        await step('limited session: adding a peer is refused with the message shown', async () => {
                await app.getByLabel('Name').fill('tablet');
                await app.getByRole('button', { name: 'Add peer' }).click();
                const error = app.locator('form.add-peer .form-error, form.add-peer [data-error-for]').filter({ hasText: /\S/ });
                await error.first().waitFor();
                const text = (await error.first().textContent()).trim();
                log('refused with:', text);
                check(/not permitted/i.test(text), `the message says it is not permitted: ${text}`);
                check(await app.locator('tr[data-peer="tablet"]').count() === 0, 'no tablet row');
                await shot(page, 'limited-refused');
        });
}

async function main() {
        const limited = process.env.PIC_COCKPIT_MODE === 'limited';
        if (!COCKPIT || (!limited && (!GATEWAY || !SYNC))) {
                console.error('cockpit-test: set PIC_COCKPIT_URL (and, but for PIC_COCKPIT_MODE=limited, PIC_UI_URL and ' +
                              'PIC_COCKPIT_SYNC)');
                return 2;
        }
        const { chromium } = loadPlaywright();
        configure('cockpit-test');
        const profile = mkdtempSync(join(tmpdir(), 'pic-cockpit-test-'));
        let context = null;
        let page = null;
        try {
                context = await chromium.launchPersistentContext(profile, {
                        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
                        viewport: { width: 1400, height: 900 },
                });
                context.setDefaultTimeout(STEP_TIMEOUT);
                page = context.pages()[0] || await context.newPage();
                watchErrors(page);
                await (limited ? runLimited(page) : run(page));
                log('all steps passed');
                return 0;
        } catch (e) {
                console.error(`cockpit-test: FAILED at step "${currentStep}": ${e.message}`);
                if (page) {
                        try {
                                await shot(page, 'failure');
                        } catch {
                                // the browser may be gone
                        }
                }
                return 1;
        } finally {
                if (context)
                        await context.close().catch(() => {});
                rmSync(profile, { recursive: true, force: true });
        }
}

process.exitCode = await main();
