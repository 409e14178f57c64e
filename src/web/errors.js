// SPDX-License-Identifier: LGPL-2.1-or-later
// Errors every transport throws, and how an error finds the form field it concerns.

export class ApiError extends Error {
        /**
         * @param {number} status  HTTP status (0 when the server was not reached)
         * @param {string} code    short code: invalid, conflict, setup_required, forbidden, not_found,
         *                         failed, timeout, unauthenticated, csrf, rate_limited, network
         * @param {string} message human text, usually the daemon's
         * @param {string|null} field the field the daemon named (snake_case), if any
         */
        constructor(status, code, message, field = null, retryAfter = null) {
                super(message || code || 'Request failed');
                this.name = 'ApiError';
                this.status = status;
                this.code = code || 'failed';
                this.field = field || null;
                this.retryAfter = retryAfter;
        }
}

function camel(field) {
        return field.split('_').map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function escapeRegExp(s) {
        return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The field (one of `fields`, snake_case) an error concerns: the field the API named,
 * else the field mentioned first in the message (as vpn_address, VpnAddress or "vpn address").
 * Returns null when none matches.
 */
export function errorField(err, fields) {
        if (!err)
                return null;
        if (err.field) {
                const f = String(err.field);
                const hit = fields.find(x => x === f || camel(x) === f || x === f.toLowerCase());
                if (hit)
                        return hit;
        }
        const message = String(err.message || '');
        let best = null;
        let bestAt = Infinity;
        for (const f of fields) {
                const forms = [f, camel(f), f.replace(/_/g, ' ')].map(escapeRegExp);
                const m = new RegExp('\\b(' + forms.join('|') + ')\\b', 'i').exec(message);
                if (m && (m.index < bestAt || (m.index === bestAt && f.length > best.length))) {
                        best = f;
                        bestAt = m.index;
                }
        }
        return best;
}
