// SPDX-License-Identifier: LGPL-2.1-or-later
// Form building blocks: labelled inputs, and API errors shown next to the field they concern.

import { h, uniqueId } from './dom.js';
import { errorField } from './errors.js';

/**
 * A labelled input with a hint and an error slot.
 * opts: {name, label, type='text', value, required, hint, autocomplete, inputmode, placeholder, min, max}
 */
export function textField(opts) {
        const id = uniqueId(`f-${opts.name}`);
        const hintId = opts.hint ? `${id}-hint` : null;
        const errorId = `${id}-error`;
        const input = h('input', {
                id,
                name: opts.name,
                type: opts.type || 'text',
                value: opts.value ?? '',
                required: !!opts.required,
                autocomplete: opts.autocomplete || 'off',
                inputmode: opts.inputmode || null,
                placeholder: opts.placeholder || null,
                min: opts.min ?? null,
                max: opts.max ?? null,
                spellcheck: 'false',
                'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
        });
        return h('div', { class: 'field', 'data-field': opts.name },
                 h('label', { for: id }, opts.label),
                 input,
                 opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
                 h('p', { class: 'field-error', id: errorId, 'data-error-for': opts.name, 'aria-live': 'polite' }));
}

/** A group of checkboxes sharing one name; values: [{value, label}], checked: values ticked. */
export function checkboxGroup({ name, legend, options, checked = [], hint }) {
        const errorId = uniqueId(`f-${name}-error`);
        return h('fieldset', { class: 'field checkboxes', 'data-field': name, 'aria-describedby': errorId },
                 h('legend', {}, legend),
                 hint ? h('p', { class: 'hint' }, hint) : null,
                 h('div', { class: 'checkbox-row' },
                   options.map(o => {
                           const id = uniqueId(`f-${name}-${o.value}`);
                           return h('span', { class: 'checkbox' },
                                    h('input', { type: 'checkbox', id, name, value: o.value,
                                                 checked: checked.includes(o.value) }),
                                    h('label', { for: id }, o.label));
                   })),
                 h('p', { class: 'field-error', id: errorId, 'data-error-for': name, 'aria-live': 'polite' }));
}

/** The slot for errors that concern the whole form, not one field. */
export function formError() {
        return h('p', { class: 'form-error', 'data-error-for': '_form', role: 'alert' });
}

export function clearErrors(form) {
        for (const el of form.querySelectorAll('[data-error-for]'))
                el.textContent = '';
        for (const el of form.querySelectorAll('[aria-invalid]'))
                el.removeAttribute('aria-invalid');
        for (const el of form.querySelectorAll('.field.invalid'))
                el.classList.remove('invalid');
}

/** Show message next to the field `name` (or in the form's own slot when name is null). */
export function setFieldError(form, name, message) {
        const slot = name ? form.querySelector(`[data-error-for="${name}"]`) : null;
        if (!slot) {
                const general = form.querySelector('[data-error-for="_form"]');
                if (general)
                        general.textContent = message;
                return null;
        }
        slot.textContent = message;
        const wrapper = slot.closest('.field');
        if (wrapper) {
                wrapper.classList.add('invalid');
                const control = wrapper.querySelector('input, select, textarea');
                if (control) {
                        control.setAttribute('aria-invalid', 'true');
                        control.focus();
                }
        }
        return name;
}

/** Field names the form has error slots for. */
export function formFields(form) {
        return [...form.querySelectorAll('[data-error-for]')]
                .map(el => el.getAttribute('data-error-for'))
                .filter(n => n !== '_form');
}

/** Human text for an API error. */
export function errorText(err) {
        if (!err)
                return '';
        if (err.code === 'rate_limited')
                return err.retryAfter ? `Too many attempts; try again in ${err.retryAfter} s.` : 'Too many attempts; try again later.';
        if (err.code === 'network')
                return err.message;
        if (err.code === 'forbidden')
                return `Not allowed: ${err.message}`;
        if (err.code === 'timeout')
                return 'The cell did not answer in time; try again.';
        return err.message || String(err);
}

/** Show an API error next to its field (by the error's field, or a field named in its message). */
export function showError(form, err) {
        return setFieldError(form, errorField(err, formFields(form)), errorText(err));
}

/** Disable the form's buttons while a request runs. */
export async function whileBusy(form, fn) {
        const controls = [...form.querySelectorAll('button, input[type=submit]')];
        controls.forEach(c => { c.disabled = true; });
        form.setAttribute('aria-busy', 'true');
        try {
                return await fn();
        } finally {
                controls.forEach(c => { c.disabled = false; });
                form.removeAttribute('aria-busy');
        }
}

export function formValues(form) {
        const out = {};
        for (const el of form.elements) {
                if (!el.name || el.type === 'checkbox' || el.type === 'submit' || el.type === 'button')
                        continue;
                out[el.name] = el.type === 'password' ? el.value : el.value.trim();
        }
        return out;
}

export function checkedValues(form, name) {
        return [...form.querySelectorAll(`input[type=checkbox][name="${name}"]:checked`)].map(el => el.value);
}
