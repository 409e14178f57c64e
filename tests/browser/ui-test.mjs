#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives the PIC web UI in headless Chromium (Debian's, through playwright-core): setup wizard,
// sign-in, add a peer, its config and QR code, its web login (and signing in as that peer in a
// fresh browser), live update, disable, remove; the Cells page's invites; the Exits page (add an
// exit from its wg-quick file, test it, send a peer through it, remove it; add a proxy exit, its
// password never shown again; every type offered, a tor exit added with nothing to give; an
// sshuttle exit refused for a key with a passphrase, then added, its private key never shown
// again); the Settings page's dynamic DNS (a provider's fields, a refusal by name, its state live,
// turned off) and backup (the passphrase checked on the page, a plain one warned
// about, an encrypted archive downloaded), a restore refused for a wrong passphrase, and at the
// end that archive restored (the cell restarts and the peers added since are gone); a
// screenshot per step.
//
// env: PIC_UI_URL          the gateway, e.g. http://127.0.0.1:8080 (required)
//      PIC_UI_SETUP_CODE   the cell's setup code (Manager.GetSetupCode; required)
//      PIC_UI_SCREENSHOTS  where the PNGs go (default $PIC_BUILD_DIR/ui-screenshots, else ./ui-screenshots)
//      PIC_BROWSER_DEPS    a directory holding node_modules/playwright-core (default: beside this file,
//                          then $PIC_BUILD_DIR/browser-deps)
//      PIC_CHROMIUM        the browser (default /usr/bin/chromium)
//      PIC_UI_DECODE_QR    0 = do not decode the QR code with zbarimg (default: decode when zbarimg exists)
// Exits 0 when every step passed, 1 otherwise.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CHROMIUM, CHROMIUM_ARGS, SHOTS, STEP_TIMEOUT, check, configure, currentStep, fieldError, loadPlaywright, log,
         shot, step, watchErrors } from './browser-lib.mjs';

const URL_BASE = (process.env.PIC_UI_URL || '').replace(/\/$/, '');
const SETUP_CODE = process.env.PIC_UI_SETUP_CODE || '';
const PASSWORD = 'correct horse battery staple';
const ZBARIMG = '/usr/bin/zbarimg';
const DECODE_QR = process.env.PIC_UI_DECODE_QR !== '0' && existsSync(ZBARIMG);

/** A WireGuard key pair (base64), as `wg genkey` and `wg pubkey` would make it. */
function wgKeyPair() {
        const { privateKey, publicKey } = generateKeyPairSync('x25519');
        const b64 = s => Buffer.from(s, 'base64url').toString('base64');
        return { private: b64(privateKey.export({ format: 'jwk' }).d), public: b64(publicKey.export({ format: 'jwk' }).x) };
}

/** A VPN provider's wg-quick file for an exit whose server does not answer. */
function exitConfig() {
        return `[Interface]\nPrivateKey = ${wgKeyPair().private}\nAddress = 10.200.0.2/32\n\n` +
               `[Peer]\nPublicKey = ${wgKeyPair().public}\nEndpoint = 127.0.0.1:51999\nAllowedIPs = 0.0.0.0/0\n`;
}

/** An ed25519 key made now by ssh-keygen: {private, public} as its files hold them. */
function sshKey(passphrase = '') {
        const dir = mkdtempSync(join(tmpdir(), 'pic-ui-ssh-'));
        try {
                execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'pic', '-f', join(dir, 'key')]);
                return { private: readFileSync(join(dir, 'key'), 'utf8'), public: readFileSync(join(dir, 'key.pub'), 'utf8').trim() };
        } finally {
                rmSync(dir, { recursive: true, force: true });
        }
}

/** Removes the exit named after confirming, and sees it go. */
async function removeExit(page, name) {
        await page.getByRole('button', { name: `Remove ${name}` }).click();
        const confirm = page.getByRole('dialog', { name: `Remove exit ${name}?` });
        await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
        await page.locator(`tr[data-exit="${name}"]`).waitFor({ state: 'detached' });
        await page.getByText(`Exit ${name} removed.`).waitFor();
}

async function passwordFromDialog(dialog) {
        await dialog.waitFor();
        check(await dialog.getByLabel('User name').inputValue() === 'laptop', 'the dialog names the user');
        const password = await dialog.getByLabel('Password', { exact: true }).inputValue();
        check(password.length >= 12, `the password looks random (${password.length} characters)`);
        await dialog.getByText('shown only now').waitFor();
        return password;
}

/** newContext(): a browser context sharing nothing (cookies, storage) with the admin's. */
async function run(page, context, newContext) {
        const nav = page.getByRole('navigation', { name: 'Main' });
        await step('setup wizard appears', async () => {
                await page.goto(URL_BASE + '/');
                await page.getByRole('heading', { name: 'Set up your cell' }).waitFor();
                await shot(page, 'setup-cell');
        });

        const wizard = page.locator('form.wizard');
        await step('setup: an invalid VPN address is refused next to its field', async () => {
                await page.getByLabel('Setup code').fill('AAAA-AAAA-AAAA');   // wrong: refused in the next step
                await page.getByLabel('Cell name').fill('home');
                await page.getByLabel('Domain').fill('home.lan');
                await page.getByRole('button', { name: 'Next' }).click();
                await page.getByLabel('VPN address').fill('8.8.8.1/24');
                await page.getByLabel('Public endpoint (optional)').fill('cell.example.org:51820');
                await shot(page, 'setup-network');
                await page.getByRole('button', { name: 'Next' }).click();
                await page.getByLabel('Admin password', { exact: true }).fill(PASSWORD);
                await page.getByLabel('Admin password again').fill(PASSWORD);
                await shot(page, 'setup-admin');
                await page.getByRole('button', { name: 'Set up the cell' }).click();
                const msg = await fieldError(wizard, 'vpn_address');
                log('vpn_address error:', msg);
                check(await page.getByLabel('VPN address').isVisible(), 'the wizard went back to the network step');
                await shot(page, 'setup-error');
        });

        await step('setup: a wrong setup code is refused next to its field', async () => {
                await page.getByLabel('VPN address').fill('10.66.0.1/24');
                await page.getByRole('button', { name: 'Next' }).click();
                await page.getByRole('button', { name: 'Set up the cell' }).click();
                const msg = await fieldError(wizard, 'setup_code');
                log('setup_code error:', msg);
                check(/SetupCode is wrong/.test(msg) && !msg.includes('AAAA'), `the refusal names the code (${msg})`);
                check(await page.getByLabel('Setup code').isVisible(), 'the wizard went back to the first step');
                await shot(page, 'setup-code-wrong');
        });

        await step('setup completes', async () => {
                check(!!SETUP_CODE, 'PIC_UI_SETUP_CODE is given');
                await page.getByLabel('Setup code').fill(SETUP_CODE.toLowerCase());   // either case
                await page.getByRole('button', { name: 'Next' }).click();
                await page.getByRole('button', { name: 'Next' }).click();
                await page.getByRole('button', { name: 'Set up the cell' }).click();
                await page.getByRole('heading', { name: 'Sign in' }).waitFor();
                await shot(page, 'login');
        });

        await step('login: a wrong password is refused next to the field', async () => {
                await page.getByLabel('User name').fill('admin');
                await page.getByLabel('Password').fill('not the password');
                await page.getByRole('button', { name: 'Sign in' }).click();
                const msg = await fieldError(page.locator('form'), 'password');
                log('login error:', msg);
        });

        await step('login', async () => {
                await page.getByLabel('Password').fill(PASSWORD);
                await page.getByRole('button', { name: 'Sign in' }).click();
                await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
                const facts = page.locator('dl.facts');
                await facts.getByText('home.lan').first().waitFor();
                await page.locator('dd.key').filter({ hasText: /^[A-Za-z0-9+/]{43}=$/ }).waitFor();
                // the DNS card shows the cell's dnsmasq (a unit of the test world's service manager)
                const dnsCard = page.locator('section', { has: page.getByRole('heading', { name: 'DNS' }) });
                await dnsCard.getByText(/^running$/).waitFor();
                await shot(page, 'dashboard');
        });

        const cellForm = page.locator('form', { has: page.getByRole('heading', { name: 'Cell', exact: true }) });
        await step('settings: a port change waits in pending changes, then is discarded', async () => {
                await nav.getByRole('link', { name: 'Settings' }).click();
                await page.getByRole('heading', { name: 'Settings' }).waitFor();
                await page.getByLabel('WireGuard port').fill('51999');
                await cellForm.getByRole('button', { name: 'Save' }).click();
                await page.getByText('Saved.').waitFor();
                await shot(page, 'settings');
                await nav.getByRole('link', { name: 'Dashboard' }).click();
                await page.locator('.pending-list').getByText('51999').waitFor();
                await shot(page, 'dashboard-pending');
                await page.getByRole('button', { name: 'Discard' }).click();
                await page.getByText('No pending changes.').waitFor();
        });

        await step('settings: dynamic DNS takes the chosen provider\'s fields, refuses a bad one by name, shows its state live', async () => {
                await nav.getByRole('link', { name: 'Settings' }).click();
                const ddns = page.locator('form', { has: page.getByRole('heading', { name: 'Dynamic DNS' }) });
                await ddns.getByText(/^Off$/).waitFor();
                check(!(await ddns.getByRole('button', { name: 'Turn off' }).isVisible()), 'nothing to turn off yet');
                const provider = ddns.getByLabel('Provider');
                await provider.selectOption('cloudflare');
                check(await ddns.getByLabel('Zone id').isVisible(), 'cloudflare asks for its zone');
                await provider.selectOption('dyndns2');
                check(!(await ddns.getByLabel('Zone id').isVisible()) && !(await ddns.getByLabel('Token').isVisible()),
                      'dyndns2 asks for no zone and no token');
                await ddns.getByLabel('Name', { exact: true }).fill('cell.example.net');
                await ddns.getByLabel('User name').fill('bob');
                await ddns.getByLabel('Password', { exact: true }).fill('a dyndns2 password');
                await ddns.getByLabel('Update URL').fill('http://127.0.0.1:1/nic/update');
                await ddns.getByRole('button', { name: 'Save' }).click();
                const refused = await fieldError(ddns, 'ddns_server');
                log('plain http refused:', refused);
                check(/https/.test(refused), `the refusal says what is wanted (${refused})`);
                // nothing listens there: the cell keeps trying, and says why, live
                await ddns.getByLabel('Update URL').fill('https://127.0.0.1:1/nic/update');
                await ddns.getByRole('button', { name: 'Save' }).click();
                await ddns.getByText('Saved.').waitFor();
                check(await ddns.getByLabel('Password', { exact: true }).inputValue() === '', 'the password left the form');
                await ddns.getByText(/^Last error: /).waitFor();
                await ddns.getByText(/^Retrying/).waitFor();
                await shot(page, 'settings-ddns');
                await ddns.getByRole('button', { name: 'Turn off' }).click();
                await ddns.getByText('Dynamic DNS is off; its secrets are forgotten.').waitFor();
                await ddns.getByText(/^Off$/).waitFor();
                check(await provider.inputValue() === '', 'no provider chosen any more');
        });

        const backupForm = page.locator('form.backup');
        const restoreForm = page.locator('form.restore');
        const backupPassphrase = 'a backup passphrase';
        let backupFile = '';
        await step('settings: the backup passphrase is checked on the page; an unencrypted one is warned about', async () => {
                await nav.getByRole('link', { name: 'Settings' }).click();
                await page.getByRole('heading', { name: 'Backup' }).waitFor();
                const passphrase = backupForm.getByLabel('Passphrase', { exact: true });
                await passphrase.fill('short');
                await backupForm.getByRole('button', { name: 'Download backup' }).click();
                log('short passphrase:', await fieldError(backupForm, 'passphrase'));
                await passphrase.fill(backupPassphrase);
                await backupForm.getByLabel('Passphrase again').fill(`${backupPassphrase}!`);
                await backupForm.getByRole('button', { name: 'Download backup' }).click();
                log('passphrases differ:', await fieldError(backupForm, 'passphrase_again'));
                await backupForm.getByLabel('Do not encrypt the backup').check();
                await backupForm.getByText(/keys in clear/).waitFor();
                check(await passphrase.isDisabled(), 'no passphrase is asked for a plain backup');
                await shot(page, 'backup-unencrypted-warning');
                await backupForm.getByLabel('Do not encrypt the backup').uncheck();
                check(!(await backupForm.getByText(/keys in clear/).isVisible()), 'the warning goes with the choice');
        });

        await step('settings: download an encrypted backup', async () => {
                await backupForm.getByLabel('Passphrase', { exact: true }).fill(backupPassphrase);
                await backupForm.getByLabel('Passphrase again').fill(backupPassphrase);
                const [download] = await Promise.all([
                        page.waitForEvent('download'),
                        backupForm.getByRole('button', { name: 'Download backup' }).click(),
                ]);
                check(/^home-\d{8}\.picbackup$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
                backupFile = join(SHOTS, download.suggestedFilename());
                await download.saveAs(backupFile);
                const archive = readFileSync(backupFile);
                check(archive.subarray(0, 11).equals(Buffer.from('PICBACKUP\x01\x01', 'latin1')),
                      `the file is an encrypted PIC backup (${JSON.stringify(archive.subarray(0, 11).toString('latin1'))})`);
                check(!archive.includes('home.lan'), 'nothing of the cell is readable in it');
                await backupForm.getByText(/Backup downloaded: home-/).waitFor();
                check(await backupForm.getByLabel('Passphrase', { exact: true }).inputValue() === '', 'the passphrase left the form');
                await shot(page, 'backup-downloaded');
        });

        await step('settings: a restore asks first, then a wrong passphrase is refused next to its field', async () => {
                await restoreForm.getByLabel('Backup file').setInputFiles(backupFile);
                await restoreForm.getByLabel('Its passphrase').fill('not the backup passphrase');
                await restoreForm.getByRole('button', { name: 'Restore…' }).click();
                const confirm = page.getByRole('dialog', { name: 'Replace everything with this backup?' });
                await confirm.getByText('cannot be undone').waitFor();
                await shot(page, 'restore-confirm');
                await confirm.getByRole('button', { name: 'Replace everything' }).click();
                const msg = await fieldError(restoreForm, 'passphrase');
                check(/passphrase is wrong/.test(msg), `the cell refuses the passphrase by name (${msg})`);
                check(!msg.includes('not the backup passphrase'), 'the refusal does not quote it');
                await shot(page, 'restore-refused');
        });

        const addForm = page.locator('form.add-peer');
        let configText = '';
        const row = name => page.locator(`tr[data-peer="${name}"]`);
        await step('peers: a bad name is refused next to the field', async () => {
                await nav.getByRole('link', { name: 'Peers' }).click();
                await page.getByRole('heading', { name: 'Peers', exact: true }).waitFor();
                await addForm.getByLabel('Name').fill('Bad Name!');
                await addForm.getByRole('button', { name: 'Add peer' }).click();
                const msg = await fieldError(addForm, 'name');
                log('peer name error:', msg);
                await shot(page, 'peer-name-error');
        });

        await step('peers: add laptop', async () => {
                await addForm.getByLabel('Name').fill('laptop');
                await addForm.getByLabel('Mail').check();
                await addForm.getByLabel('LAN').check();
                await addForm.getByRole('button', { name: 'Add peer' }).click();
                await row('laptop').waitFor();
                const address = (await row('laptop').locator('td[data-label="Address"]').textContent()).trim();
                check(/^10\.66\.0\.\d+/.test(address), `laptop got an address in the VPN subnet (${address})`);
                const services = await row('laptop').locator('td[data-label="Services"]').textContent();
                check(/Mail/.test(services), `laptop may reach mail (${services})`);
                const networks = await row('laptop').locator('td[data-label="Networks"]').textContent();
                check(networks.trim() === 'Internet, LAN', `laptop may reach the internet and the LAN (${networks})`);
                check(/never|ago/.test(await row('laptop').locator('td.handshake').textContent()), 'handshake age shown');
                await shot(page, 'peer-added');
        });

        await step('peers: download the config', async () => {
                const [download] = await Promise.all([
                        page.waitForEvent('download'),
                        page.getByRole('button', { name: 'Download the configuration of laptop' }).click(),
                ]);
                check(download.suggestedFilename() === 'laptop.conf', `file name ${download.suggestedFilename()}`);
                const file = join(SHOTS, 'laptop.conf');
                await download.saveAs(file);
                configText = readFileSync(file, 'utf8');
                rmSync(file);
                check(configText.includes('[Interface]') && configText.includes('[Peer]'), 'the config is a wg-quick file');
        });

        await step('peers: QR code', async () => {
                await page.getByRole('button', { name: 'Show the QR code of laptop' }).click();
                const dialog = page.getByRole('dialog', { name: 'QR code for laptop' });
                await dialog.waitFor();
                const svg = dialog.locator('.qr svg');
                await svg.waitFor();
                const parts = await svg.locator('path, rect, polygon').count();
                check(parts > 0, 'the QR SVG has drawing elements');
                const box = await svg.boundingBox();
                check(box && box.width > 100 && box.height > 100, 'the QR code is drawn at a scannable size');
                await shot(page, 'peer-qr');
                if (DECODE_QR) {
                        // the code must scan back to the very config the download gave
                        const png = join(SHOTS, 'qr-only.png');
                        await svg.screenshot({ path: png });
                        const decoded = execFileSync(ZBARIMG, ['--nodbus', '--raw', '-q', png], { encoding: 'utf8' });
                        rmSync(png);
                        check(decoded.trim() === configText.trim(), 'the QR code decodes to the downloaded config');
                        log('QR code decodes to the config');
                }
                await dialog.getByRole('button', { name: 'Close' }).click();
                await dialog.waitFor({ state: 'detached' });
        });

        let peerPassword = '';
        let oldPeerPassword = '';
        const loginDialog = page.getByRole('dialog', { name: 'Web login for laptop' });
        await step('peers: give laptop a web login', async () => {
                // no login yet: no confirmation, the password dialog comes at once
                await page.getByRole('button', { name: 'Web login for laptop' }).click();
                peerPassword = await passwordFromDialog(loginDialog);
                await loginDialog.getByRole('button', { name: 'Copy password' }).click();
                const copied = loginDialog.getByRole('status');
                await copied.filter({ hasText: /\S/ }).waitFor();
                log('copy:', (await copied.textContent()).trim());
                try {
                        const clip = await page.evaluate(() => navigator.clipboard.readText());
                        check(clip === peerPassword, 'the copy button put the password on the clipboard');
                        log('the clipboard holds the password');
                } catch (e) {
                        if (e.message.startsWith('check failed'))
                                throw e;
                        log('clipboard not readable here:', e.message.split('\n')[0]);
                }
                await shot(page, 'peer-login-password');
                await loginDialog.getByRole('button', { name: 'Close' }).click();
                await loginDialog.waitFor({ state: 'detached' });
                await page.getByText('laptop can sign in to the web UI').waitFor();
        });

        await step('peers: a second web login asks first, then replaces the password', async () => {
                await page.getByRole('button', { name: 'Web login for laptop' }).click();
                const confirm = page.getByRole('dialog', { name: 'Replace the web login of laptop?' });
                await confirm.waitFor();
                await confirm.getByText('replaces the current password').waitFor();
                await shot(page, 'peer-login-replace');
                await confirm.getByRole('button', { name: 'Replace password' }).click();
                oldPeerPassword = peerPassword;
                peerPassword = await passwordFromDialog(loginDialog);
                check(peerPassword !== oldPeerPassword, 'the new password differs from the old one');
                await loginDialog.getByRole('button', { name: 'Close' }).click();
                await loginDialog.waitFor({ state: 'detached' });
        });

        await step('peer: signs in with its web login and sees only its own page', async () => {
                const peerContext = await newContext();
                const peerPage = await peerContext.newPage();
                watchErrors(peerPage);
                await peerPage.goto(URL_BASE + '/');
                await peerPage.getByRole('heading', { name: 'Sign in' }).waitFor();
                await peerPage.getByLabel('User name').fill('laptop');
                await peerPage.getByLabel('Password').fill(oldPeerPassword);
                await peerPage.getByRole('button', { name: 'Sign in' }).click();
                log('replaced password refused:', await fieldError(peerPage.locator('form'), 'password'));
                await peerPage.getByLabel('Password').fill(peerPassword);
                await peerPage.getByRole('button', { name: 'Sign in' }).click();
                await peerPage.getByRole('heading', { name: 'Device laptop' }).waitFor();
                const peerNav = peerPage.getByRole('navigation', { name: 'Main' });
                const links = (await peerNav.getByRole('link').allTextContents()).map(t => t.trim());
                check(links.length === 1 && links[0] === 'My device', `the peer's menu is its device only (${links})`);
                const facts = peerPage.locator('dl.facts');
                await facts.getByText('laptop', { exact: true }).waitFor();
                await facts.getByText(/^10\.66\.0\.\d+/).waitFor();
                await shot(peerPage, 'peer-own-page');

                // an admin page asked for by address still shows the device
                await peerPage.evaluate(() => { location.hash = '#peers'; });
                await peerPage.getByRole('heading', { name: 'Device laptop' }).waitFor();
                check(await peerPage.getByRole('heading', { name: 'Peers', exact: true }).count() === 0, 'no peers page for a peer');
                for (const path of ['/api/cell', '/api/peers/phone']) {
                        const res = await peerContext.request.get(URL_BASE + path);
                        check(res.status() === 403, `GET ${path} as the peer gave ${res.status()}`);
                }
                const own = await (await peerContext.request.get(URL_BASE + '/api/peers')).json();
                check(own.length === 1 && own[0].name === 'laptop', 'the peer lists only itself');

                const [download] = await Promise.all([
                        peerPage.waitForEvent('download'),
                        peerPage.getByRole('button', { name: 'Download config' }).click(),
                ]);
                const file = join(SHOTS, 'laptop-own.conf');
                await download.saveAs(file);
                const ownConfig = readFileSync(file, 'utf8');
                rmSync(file);
                check(ownConfig === configText, 'the peer downloads the same config as the admin did');

                await peerPage.getByRole('button', { name: 'QR code' }).click();
                const qr = peerPage.getByRole('dialog', { name: 'QR code for laptop' });
                await qr.locator('.qr svg').waitFor();
                await shot(peerPage, 'peer-own-qr');
                await qr.getByRole('button', { name: 'Close' }).click();
                await qr.waitFor({ state: 'detached' });

                await peerPage.getByRole('button', { name: 'Sign out' }).click();
                await peerPage.getByRole('heading', { name: 'Sign in' }).waitFor();
                await peerContext.close();
        });

        await step('peers: a peer added elsewhere shows up live', async () => {
                const session = await (await context.request.get(URL_BASE + '/api/session')).json();
                const res = await context.request.post(URL_BASE + '/api/peers', {
                        data: { name: 'phone', service_access: ['dns'] },
                        headers: { 'X-CSRF-Token': session.csrf_token, Origin: URL_BASE },
                });
                check(res.status() === 201, `POST /api/peers gave ${res.status()}: ${await res.text()}`);
                await row('phone').waitFor({ timeout: 12000 });
        });

        await step('peers: disable and enable laptop', async () => {
                await page.getByRole('button', { name: 'Disable laptop' }).click();
                await row('laptop').getByText('Disabled').waitFor();
                await shot(page, 'peer-disabled');
                await page.getByRole('button', { name: 'Enable laptop' }).click();
                await row('laptop').getByRole('button', { name: 'Disable laptop' }).waitFor();
        });

        await step('narrow screen', async () => {
                await page.setViewportSize({ width: 390, height: 844 });
                await shot(page, 'peers-narrow');
                await nav.getByRole('link', { name: 'Dashboard' }).click();
                await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
                await shot(page, 'dashboard-narrow');
                await page.setViewportSize({ width: 1280, height: 800 });
                await nav.getByRole('link', { name: 'Peers' }).click();
                await row('laptop').waitFor();
        });

        await step('peers: remove laptop after confirming', async () => {
                await page.getByRole('button', { name: 'Remove laptop' }).click();
                const dialog = page.getByRole('dialog', { name: 'Remove laptop?' });
                await dialog.waitFor();
                await shot(page, 'peer-remove-confirm');
                await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
                await row('laptop').waitFor({ state: 'detached' });
                await page.getByText('Peer laptop removed.').waitFor();
                const res = await context.request.get(URL_BASE + '/api/peers/laptop');
                check(res.status() === 404, `laptop is gone from the API too (GET gave ${res.status()})`);
                await shot(page, 'peer-removed');
        });

        await step('cells: make an invite (text and QR), refuse bad ones by name, revoke', async () => {
                await nav.getByRole('link', { name: 'Cells' }).click();
                await page.getByRole('heading', { name: 'Cells', exact: true }).waitFor();
                await page.getByText('No linked cells yet.').waitFor();
                await page.getByLabel('Valid for').selectOption('3600');
                await page.getByRole('button', { name: 'Make an invite' }).click();
                await page.getByRole('img', { name: 'The invite as a QR code' }).waitFor();
                const text = await page.locator('#invite-text').inputValue();
                check(text.startsWith('pic-invite1.'), `the invite is shown as text (${text.slice(0, 20)}…)`);
                await page.locator('[data-invite]').first().waitFor();
                await shot(page, 'cells-invite');

                const linkForm = page.locator('form', { has: page.getByRole('heading', { name: 'Link with a cell' }) });
                await linkForm.getByLabel('Its invite').fill('hello');
                await linkForm.getByRole('button', { name: 'Link' }).click();
                let msg = await fieldError(linkForm, 'invite');
                check(/does not start with/.test(msg), `a malformed invite is refused by name (${msg})`);
                await linkForm.getByLabel('Its invite').fill(text);
                await linkForm.getByRole('button', { name: 'Link' }).click();
                await linkForm.locator('[data-error-for="invite"]').filter({ hasText: /own invite/ }).waitFor();
                await shot(page, 'cells-refused');

                await page.locator('[data-revoke]').first().click();
                await page.getByText('None.').waitFor();
        });

        const exitRow = page.locator('tr[data-exit="vpn"]');
        const exitForm = page.locator('form.add-exit');
        await step('exits: a file with PostUp is refused next to its field', async () => {
                await nav.getByRole('link', { name: 'Exits' }).click();
                await page.getByRole('heading', { name: 'Exits', exact: true }).waitFor();
                await page.getByText('No exits yet.').waitFor();
                await exitForm.getByLabel('Name').fill('vpn');
                await exitForm.getByLabel('Its wg-quick file').fill(exitConfig() + 'PostUp = touch /tmp/pwned\n');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                const msg = await fieldError(exitForm, 'config');
                check(/PostUp/.test(msg), `the cell names what it refused (${msg})`);
                await shot(page, 'exit-refused');
        });

        await step('exits: add one from its file, see it listed', async () => {
                const text = exitConfig();
                await exitForm.getByLabel('Or load the file:').setInputFiles({ name: 'vpn.conf', mimeType: 'text/plain',
                                                                                buffer: Buffer.from(text) });
                await page.waitForFunction(want => document.querySelector('form.add-exit textarea').value === want, text);
                await exitForm.getByLabel('Test target (optional)').fill('192.0.2.1:443');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await page.getByText('Exit vpn added').waitFor();
                await exitRow.waitFor();
                const state = (await exitRow.locator('[data-state]').textContent()).trim();
                check(['starting', 'down', 'failed'].includes(state), `its server does not answer: ${state}`);
                const endpoint = (await exitRow.locator('td[data-label="Endpoint"]').textContent()).trim();
                check(endpoint === '127.0.0.1:51999', `the endpoint is listed (${endpoint})`);
                const type = (await exitRow.locator('td[data-label="Type"]').textContent()).trim();
                check(type === 'WireGuard', `its type is listed (${type})`);
                check(await exitForm.getByLabel('Its wg-quick file').inputValue() === '', 'the private key left the page');
                const listed = await (await context.request.get(URL_BASE + '/api/exits')).text();
                check(!listed.includes(text.split('\n')[1].slice(13)), 'the API never shows the private key');
                await shot(page, 'exit-added');
        });

        await step('exits: testing it says the server does not answer', async () => {
                await page.getByRole('button', { name: 'Test vpn' }).click();
                await page.getByRole('alert').filter({ hasText: /cannot reach 192\.0\.2\.1:443/ }).waitFor({ timeout: 12000 });
                await shot(page, 'exit-test');
        });

        await step('exits: phone goes through it; the exit cannot go while it does', async () => {
                await nav.getByRole('link', { name: 'Peers' }).click();
                await page.getByRole('button', { name: 'Choose the exit of phone' }).click();
                const dialog = page.getByRole('dialog', { name: 'Exit for phone' });
                await dialog.getByLabel('Its internet traffic leaves by').selectOption('vpn');
                await shot(page, 'peer-exit-dialog');
                await dialog.getByRole('button', { name: 'Save' }).click();
                await dialog.waitFor({ state: 'detached' });
                await row('phone').locator('td[data-label="Exit"]').filter({ hasText: /^vpn$/ }).waitFor();
                await nav.getByRole('link', { name: 'Exits' }).click();
                await page.locator('[data-exit-peers="vpn"]').filter({ hasText: /^phone$/ }).waitFor();
                await page.getByRole('button', { name: 'Remove vpn' }).click();
                const confirm = page.getByRole('dialog', { name: 'Remove exit vpn?' });
                await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
                await confirm.getByRole('alert').filter({ hasText: /phone/ }).waitFor();
                await shot(page, 'exit-in-use');
                await confirm.getByRole('button', { name: 'Cancel' }).click();
                await nav.getByRole('link', { name: 'Peers' }).click();
                await page.getByRole('button', { name: 'Choose the exit of phone' }).click();
                await dialog.getByLabel('Its internet traffic leaves by').selectOption('');
                await dialog.getByRole('button', { name: 'Save' }).click();
                await row('phone').locator('td[data-label="Exit"]').filter({ hasText: /^—$/ }).waitFor();
        });

        await step('exits: remove it after confirming', async () => {
                await nav.getByRole('link', { name: 'Exits' }).click();
                await exitRow.waitFor();
                await page.getByRole('button', { name: 'Remove vpn' }).click();
                const confirm = page.getByRole('dialog', { name: 'Remove exit vpn?' });
                await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
                await exitRow.waitFor({ state: 'detached' });
                await page.getByText('Exit vpn removed.').waitFor();
                const res = await context.request.get(URL_BASE + '/api/exits');
                check(JSON.stringify(await res.json()) === '[]', 'the exit is gone from the API too');
                await shot(page, 'exit-removed');
        });

        const proxySecret = 'hunter2-proxy-secret';
        const proxyRow = page.locator('tr[data-exit="px"]');
        await step('exits: a proxy exit shows its own fields; a bad URL or resolver is refused by name', async () => {
                await exitForm.getByLabel('Type').selectOption('proxy');
                await exitForm.getByLabel('Proxy URL').waitFor();
                check(!(await exitForm.getByLabel('Its wg-quick file').isVisible()), 'the wg-quick file is for WireGuard only');
                check(await exitForm.getByLabel('Proxy URL').getAttribute('autocomplete') === 'off',
                      'the browser is not asked to remember the URL');
                await exitForm.getByLabel('Name').fill('px');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await fieldError(exitForm, 'proxy');
                await exitForm.getByLabel('Proxy URL').fill(`socks5://me:${proxySecret}@192.0.2.10:1080`);
                await exitForm.getByLabel('DNS servers (optional)').fill('192.0.2.53, dns.example');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                let msg = await fieldError(exitForm, 'dns_servers');
                check(/dns\.example/.test(msg), `the page names the resolver that is not an address (${msg})`);
                await exitForm.getByLabel('DNS servers (optional)').fill('192.0.2.53, 192.0.2.54');
                await exitForm.getByLabel('Proxy URL').fill(`socks5://me:${proxySecret}@proxy.example:1080`);
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                msg = await fieldError(exitForm, 'proxy');
                check(/IPv4/.test(msg) && !msg.includes(proxySecret), `the cell refuses a name, never quoting the password (${msg})`);
                await shot(page, 'exit-proxy-refused');
        });

        await step('exits: add a proxy exit, see it listed, the password gone from the page', async () => {
                await exitForm.getByLabel('Proxy URL').fill(`socks5://me:${proxySecret}@192.0.2.10:1080`);
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await page.getByText('Exit px added').waitFor();
                await proxyRow.waitFor();
                const type = (await proxyRow.locator('td[data-label="Type"]').textContent()).trim();
                check(type === 'Proxy', `its type is listed (${type})`);
                const endpoint = (await proxyRow.locator('td[data-label="Endpoint"]').textContent()).trim();
                check(endpoint === '192.0.2.10:1080', `its address is listed, without the credentials (${endpoint})`);
                check(await exitForm.getByLabel('Proxy URL').inputValue() === '', 'the URL left the form');
                check(!(await page.content()).includes(proxySecret), 'the password is nowhere on the page');
                const listed = await (await context.request.get(URL_BASE + '/api/exits')).json();
                check(!JSON.stringify(listed).includes(proxySecret), 'the API never shows the password');
                const px = listed.find(e => e.name === 'px');
                check(px && JSON.stringify(px.dns_servers) === '["192.0.2.53","192.0.2.54"]',
                      `its resolvers are the ones given (${px && px.dns_servers})`);
                await shot(page, 'exit-proxy-added');
                await removeExit(page, 'px');
        });

        await step('exits: every type is offered; tor takes nothing, openvpn its .ovpn file', async () => {
                const types = await exitForm.getByLabel('Type').locator('option').evaluateAll(o => o.map(x => x.value));
                check(types.join() === 'wireguard,openvpn,tor,proxy,sshuttle', `the types the cell adds (${types})`);
                await exitForm.getByLabel('Type').selectOption('openvpn');
                await exitForm.getByLabel('Its .ovpn file').waitFor();
                await shot(page, 'exit-openvpn-form');
                await exitForm.getByLabel('Type').selectOption('tor');
                await exitForm.getByText('nothing to give').waitFor();
                const shown = await exitForm.locator('textarea, input[type=file], [name=proxy], [name=dns_servers]')
                        .evaluateAll(els => els.filter(e => e.offsetParent !== null).length);
                check(shown === 0, `tor shows no file, URL, key or resolver field (${shown})`);
                await exitForm.getByLabel('Name').fill('tor');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await page.getByText('Exit tor added').waitFor();
                const type = (await page.locator('tr[data-exit="tor"] td[data-label="Type"]').textContent()).trim();
                check(type === 'Tor', `its type is listed (${type})`);
                await removeExit(page, 'tor');
        });

        const key = sshKey(), locked = sshKey('a passphrase'), host = sshKey().public;
        const keyLines = [key, locked].map(k => k.private.split('\n')[1]);
        const sshRow = page.locator('tr[data-exit="ssh"]');
        await step('exits: an sshuttle exit shows its own fields; a second resolver and a locked key are refused', async () => {
                await exitForm.getByLabel('Type').selectOption('sshuttle');
                await exitForm.getByLabel('SSH server').waitFor();
                check(!(await exitForm.getByLabel('Proxy URL').isVisible()), 'the proxy URL is for proxies only');
                check(await exitForm.getByLabel('Private key').getAttribute('autocomplete') === 'off',
                      'the browser is not asked to remember the key');
                await exitForm.getByLabel('Name').fill('ssh');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await fieldError(exitForm, 'target');
                await exitForm.getByLabel('SSH server').fill('pic@192.0.2.10:2222');
                await exitForm.getByLabel('Or load the key file:').setInputFiles({ name: 'id_ed25519', mimeType: 'text/plain',
                                                                                    buffer: Buffer.from(locked.private) });
                await page.waitForFunction(want => document.querySelector('form.add-exit [name=ssh_key]').value === want,
                                           locked.private);
                await exitForm.getByLabel('Its host key').fill(host);
                await exitForm.getByLabel('DNS server (optional)').fill('192.0.2.53, 192.0.2.54');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                let msg = await fieldError(exitForm, 'dns_servers');
                check(/One DNS server/.test(msg), `the page takes one resolver (${msg})`);
                await exitForm.getByLabel('DNS server (optional)').fill('192.0.2.53');
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                msg = await fieldError(exitForm, 'ssh_key');
                check(/passphrase/.test(msg) && !keyLines.some(l => msg.includes(l)),
                      `the cell refuses a key with a passphrase, never quoting it (${msg})`);
                await shot(page, 'exit-sshuttle-refused');
        });

        await step('exits: add an sshuttle exit, see it listed with its server, the key gone from the page', async () => {
                await exitForm.getByLabel('Private key').fill(key.private.trim());
                await exitForm.getByRole('button', { name: 'Add exit' }).click();
                await page.getByText('Exit ssh added').waitFor();
                await sshRow.waitFor();
                const type = (await sshRow.locator('td[data-label="Type"]').textContent()).trim();
                check(type === 'sshuttle', `its type is listed (${type})`);
                const endpoint = (await sshRow.locator('td[data-label="Endpoint"]').textContent()).trim();
                check(endpoint === '192.0.2.10:2222', `its server is listed (${endpoint})`);
                check(await exitForm.getByLabel('Private key').inputValue() === '', 'the key left the form');
                const content = await page.content();
                check(!keyLines.some(l => content.includes(l)), 'the private key is nowhere on the page');
                const listed = await (await context.request.get(URL_BASE + '/api/exits')).text();
                check(!keyLines.some(l => listed.includes(l)), 'the API never shows the private key');
                const ssh = JSON.parse(listed).find(e => e.name === 'ssh');
                check(ssh && JSON.stringify(ssh.dns_servers) === '["192.0.2.53"]', `its resolver (${ssh && ssh.dns_servers})`);
                await shot(page, 'exit-sshuttle-added');
                await removeExit(page, 'ssh');
        });

        await step('settings: restore the backup made at the start; the cell restarts and shows what it held', async () => {
                await nav.getByRole('link', { name: 'Settings' }).click();
                await restoreForm.getByLabel('Backup file').setInputFiles(backupFile);
                await restoreForm.getByLabel('Its passphrase').fill(backupPassphrase);
                await restoreForm.getByRole('button', { name: 'Restore…' }).click();
                const confirm = page.getByRole('dialog', { name: 'Replace everything with this backup?' });
                await confirm.getByRole('button', { name: 'Replace everything' }).click();
                await restoreForm.getByText(/^Restored cell home; the cell restarts/).waitFor();
                await shot(page, 'restore-restarting');
                await restoreForm.getByText(/the cell restarted and shows the restored state/).waitFor({ timeout: 60000 });
                const peers = await (await context.request.get(URL_BASE + '/api/peers')).json();
                check(peers.length === 0, `the peers are those of the backup's time: none (${peers.map(p => p.name)})`);
                await nav.getByRole('link', { name: 'Peers' }).click();
                await page.locator('tr[data-peer="phone"]').waitFor({ state: 'detached' });
                await shot(page, 'restored-peers');
                rmSync(backupFile);
        });

        await step('sign out', async () => {
                await page.getByRole('button', { name: 'Sign out' }).click();
                await page.getByRole('heading', { name: 'Sign in' }).waitFor();
                const res = await context.request.get(URL_BASE + '/api/peers');
                check(res.status() === 401, `no data after signing out (GET /api/peers gave ${res.status()})`);
        });
}

async function main() {
        if (!URL_BASE) {
                console.error('ui-test: set PIC_UI_URL');
                return 2;
        }
        const { chromium } = loadPlaywright();
        configure('ui-test');
        const profile = mkdtempSync(join(tmpdir(), 'pic-ui-test-'));
        let context = null;
        let page = null;
        const browsers = [];
        const newContext = async () => {
                const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
                browsers.push(browser);
                const c = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
                c.setDefaultTimeout(STEP_TIMEOUT);
                return c;
        };
        try {
                context = await chromium.launchPersistentContext(profile, {
                        executablePath: CHROMIUM,
                        headless: true,
                        args: CHROMIUM_ARGS,
                        viewport: { width: 1280, height: 800 },
                        acceptDownloads: true,
                });
                context.setDefaultTimeout(STEP_TIMEOUT);
                page = context.pages()[0] || await context.newPage();
                await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: URL_BASE });
                watchErrors(page);
                await run(page, context, newContext);
                log('all steps passed');
                return 0;
        } catch (e) {
                console.error(`ui-test: FAILED at step "${currentStep}": ${e.message}`);
                if (page) {
                        try {
                                await shot(page, 'failure');
                        } catch {
                                // the browser may be gone
                        }
                }
                return 1;
        } finally {
                for (const b of browsers)
                        await b.close().catch(() => {});
                if (context)
                        await context.close().catch(() => {});
                rmSync(profile, { recursive: true, force: true });
        }
}

process.exitCode = await main();
