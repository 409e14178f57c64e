// SPDX-License-Identifier: LGPL-2.1-or-later
// Turns SVG text from the API into an inert <svg> element (no scripts, handlers or links).

const DROP = new Set(['script', 'foreignobject', 'iframe', 'a', 'use', 'image', 'style']);

export function inertSvg(text, label) {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        const root = doc.documentElement;
        if (!root || root.localName !== 'svg' || doc.querySelector('parsererror'))
                throw new Error('The QR code is not valid SVG.');
        for (const el of [...root.querySelectorAll('*')]) {
                if (DROP.has(el.localName.toLowerCase())) {
                        el.remove();
                        continue;
                }
                for (const attr of [...el.attributes]) {
                        if (/^on/i.test(attr.name) || /href$/i.test(attr.name))
                                el.removeAttribute(attr.name);
                }
        }
        for (const attr of [...root.attributes]) {
                if (/^on/i.test(attr.name))
                        root.removeAttribute(attr.name);
        }
        const svg = document.importNode(root, true);
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-label', label);
        if (!svg.hasAttribute('viewBox') && svg.hasAttribute('width') && svg.hasAttribute('height'))
                svg.setAttribute('viewBox', `0 0 ${parseFloat(svg.getAttribute('width'))} ${parseFloat(svg.getAttribute('height'))}`);
        svg.removeAttribute('width');
        svg.removeAttribute('height');
        return svg;
}

/** Offers text as a file download without leaving the page. */
export function downloadText(filename, text, type = 'text/plain') {
        downloadBlob(filename, new Blob([text], { type }));
}

/** Offers a blob (a file made in memory or downloaded) as a file download without leaving the page. */
export function downloadBlob(filename, blob) {
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = filename;
        a.hidden = true;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
}
