// SPDX-License-Identifier: LGPL-2.1-or-later
// Small DOM and formatting helpers shared by the views.

/**
 * h('button', {type: 'button', onclick: fn, class: 'x'}, 'text', child...)
 * Attributes starting with "on" become listeners; false/null attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
        const el = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
                if (v === false || v === null || v === undefined)
                        continue;
                if (k.startsWith('on') && typeof v === 'function')
                        el.addEventListener(k.slice(2), v);
                else if (k === 'class')
                        el.className = v;
                else if (k === 'text')
                        el.textContent = v;
                else if (k in el && typeof v !== 'string')
                        el[k] = v;
                else
                        el.setAttribute(k, v === true ? '' : String(v));
        }
        append(el, children);
        return el;
}

function append(el, children) {
        for (const c of children.flat()) {
                if (c === null || c === undefined || c === false)
                        continue;
                el.append(c instanceof Node ? c : document.createTextNode(String(c)));
        }
}

export function clear(el, ...children) {
        el.replaceChildren();
        append(el, children);
        return el;
}

export function formatBytes(n) {
        n = Number(n) || 0;
        const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
        let i = 0;
        while (n >= 1024 && i < units.length - 1) {
                n /= 1024;
                i++;
        }
        return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

/** Age of a µs-since-epoch timestamp as "never", "5 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function formatAge(usec, nowMs = Date.now()) {
        usec = Number(usec) || 0;
        if (usec <= 0)
                return 'never';
        const s = Math.max(0, Math.round((nowMs - usec / 1000) / 1000));
        if (s < 120)
                return s + ' s ago';
        if (s < 7200)
                return Math.floor(s / 60) + ' min ago';
        if (s < 172800)
                return Math.floor(s / 3600) + ' h ago';
        return Math.floor(s / 86400) + ' d ago';
}

export function formatDate(usec) {
        usec = Number(usec) || 0;
        return usec > 0 ? new Date(usec / 1000).toLocaleString() : '—';
}

let idCounter = 0;
export function uniqueId(prefix) {
        idCounter++;
        return `${prefix}-${idCounter}`;
}
