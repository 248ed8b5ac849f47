// Small DOM helpers shared by every page: building elements, toasts, dialogs, field errors,
// dates, and what platforms and delivery states look like.

/** Build an element: h('button', {class: 'x', onclick: f, 'aria-label': 'y'}, 'text', child). */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'class') el.className = value
    else if (name === 'text') el.textContent = value
    else if (name === 'dataset') Object.assign(el.dataset, value)
    else if (name === 'style') for (const [k, v] of Object.entries(value)) el.style.setProperty(k, v)
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (value === true) el.setAttribute(name, '')
    else if (name in el && !name.startsWith('aria-') && name !== 'list' && name !== 'for') el[name] = value
    else el.setAttribute(name, value)
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : String(child))
  }
}

/** Replace an element's children. */
export function fill (el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

export function debounce (fn, ms) {
  let timer
  return (...args) => {
    clearTimeout(timer)
    timer = setTimeout(() => fn(...args), ms)
  }
}

// -- announcements -------------------------------------------------------------------------

/** A short message in the corner, read out by screen readers. */
export function toast (message, { kind = 'info', timeout = 6000 } = {}) {
  const region = document.getElementById('toasts')
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { text: message }),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'))
  region.append(item)
  if (timeout) setTimeout(() => item.remove(), timeout)
  return item
}

/** Disable a button while `work` runs, with a busy state for assistive technology. */
export async function busy (button, work) {
  button.disabled = true
  button.setAttribute('aria-busy', 'true')
  try {
    return await work()
  } finally {
    button.disabled = false
    button.removeAttribute('aria-busy')
  }
}

// -- dialogs -------------------------------------------------------------------------------

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape closes it). `build(close)`
 * returns its body; the promise resolves with what `close(value)` was given, or null.
 */
export function modal ({ title, build, className = '', initialFocus = null }) {
  const opener = document.activeElement
  return new Promise(resolve => {
    const titleId = 'dlg-' + Math.random().toString(36).slice(2)
    const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': titleId })
    let result = null
    const close = value => {
      result = value ?? null
      dialog.close()
    }
    dialog.append(
      h('div', { class: 'dialog-head' },
        h('h2', { id: titleId, text: title }),
        h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', onclick: () => close(null) }, '×')),
      build(close))
    dialog.addEventListener('close', () => {
      dialog.remove()
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
      resolve(result)
    })
    document.body.append(dialog)
    dialog.showModal()
    const first = dialog.querySelector(initialFocus ?? '[autofocus], input:not([type=hidden]), textarea, select, .dialog-body button')
    first?.focus()
  })
}

/** Ask a yes/no question; resolves true when confirmed. */
export function confirmDialog ({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return modal({
    title,
    build: close => h('div', { class: 'dialog-body' },
      h('p', { text: message }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => close(false) }, 'Keep it'),
        h('button', { type: 'button', class: `button ${danger ? 'danger' : 'primary'}`, autofocus: true, onclick: () => close(true) }, confirmLabel)))
  }).then(Boolean)
}

/**
 * A dialog with a small form. `submit(values)` may throw an ApiError: its field errors show
 * next to the inputs, anything else above the buttons, and the dialog stays open.
 */
export function formDialog ({ title, intro, fields, submitLabel = 'Save', submit }) {
  return modal({
    title,
    build: close => {
      const inputs = {}
      const general = h('p', { class: 'form-error', role: 'alert', hidden: true })
      const form = h('form', { class: 'dialog-body stack', novalidate: true })
      if (intro) form.append(h('p', { class: 'muted', text: intro }))
      for (const field of fields) {
        const id = 'f-' + field.name + '-' + Math.random().toString(36).slice(2, 7)
        const input = field.type === 'textarea'
          ? h('textarea', { id, name: field.name, rows: 3, required: field.required })
          : h('input', {
            id,
            name: field.name,
            type: field.type ?? 'text',
            required: field.required,
            placeholder: field.placeholder,
            autocomplete: field.autocomplete ?? 'off',
            value: field.value ?? ''
          })
        inputs[field.name] = input
        form.append(h('div', { class: 'field' },
          h('label', { for: id, text: field.label + (field.required ? '' : ' (optional)') }),
          field.help ? h('p', { class: 'hint', id: id + '-hint', text: field.help }) : null,
          input))
        if (field.help) input.setAttribute('aria-describedby', id + '-hint')
      }
      const button = h('button', { type: 'submit', class: 'button primary' }, submitLabel)
      form.append(general, h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => close(null) }, 'Cancel'),
        button))
      form.addEventListener('submit', async event => {
        event.preventDefault()
        clearErrors(form)
        general.hidden = true
        const values = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]))
        const missing = fields.find(f => f.required && !values[f.name])
        if (missing) {
          showError(inputs[missing.name], 'This is required')
          return
        }
        try {
          const result = await busy(button, () => submit(values))
          close(result ?? true)
        } catch (error) {
          const unplaced = placeErrors(error, name => inputs[name.split('.').pop()] ?? inputs[name])
          if (unplaced.length) {
            general.textContent = unplaced.join(' ')
            general.hidden = false
          }
        }
      })
      return form
    }
  })
}

// -- field errors --------------------------------------------------------------------------

/** Show `message` under `input` (linked with aria-describedby) and mark it invalid. */
export function showError (input, message) {
  const holder = input.closest('.field, fieldset') ?? input.parentElement
  let box = holder.querySelector(':scope > .field-error')
  if (!box) {
    box = h('p', { class: 'field-error', id: (input.id || 'field') + '-error' })
    holder.append(box)
  }
  box.textContent = box.textContent ? box.textContent + ' ' + message : message
  input.setAttribute('aria-invalid', 'true')
  const described = new Set((input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean))
  described.add(box.id)
  input.setAttribute('aria-describedby', [...described].join(' '))
  return box
}

export function clearErrors (root) {
  for (const box of root.querySelectorAll('.field-error')) box.remove()
  for (const input of root.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid')
}

/**
 * Put each of an ApiError's `errors` next to the input `find(field)` returns; return the
 * messages that found no input (plus the detail when there were no field errors at all).
 */
export function placeErrors (error, find) {
  const errors = error?.errors ?? []
  if (!errors.length) return [error?.detail ?? String(error)]
  const unplaced = []
  let first = null
  for (const e of errors) {
    const input = find(e.field)
    if (input) {
      showError(input, sentence(e.message))
      first ??= input
    } else {
      unplaced.push(sentence(e.message))
    }
  }
  first?.focus()
  return unplaced
}

/** What went wrong, in words: the field errors' messages, else the problem's detail. */
export function problemText (error) {
  if (error?.errors?.length) return error.errors.map(e => sentence(e.message)).join(' ')
  return sentence(error?.detail ?? error?.message ?? String(error))
}

/** "too long; X allows 280" -> "Too long; X allows 280." */
export function sentence (text) {
  const s = String(text ?? '').trim()
  if (!s) return s
  return s[0].toUpperCase() + s.slice(1) + (/[.!?…]$/.test(s) ? '' : '.')
}

// -- time ----------------------------------------------------------------------------------

export const browserTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'

export function timeZones () {
  try {
    return Intl.supportedValuesOf('timeZone')
  } catch {
    return [browserTimeZone, 'UTC']
  }
}

export function formatDateTime (iso, timeZone = browserTimeZone, { withZone = false } = {}) {
  if (!iso) return '—'
  // dateStyle and timeStyle cannot be combined with timeZoneName: spell the fields out then
  const fields = withZone
    ? { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }
    : { dateStyle: 'medium', timeStyle: 'short' }
  return new Intl.DateTimeFormat(undefined, { ...fields, timeZone }).format(new Date(iso))
}

/** "in 3 hours", "5 minutes ago" */
export function relative (iso) {
  if (!iso) return ''
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000
  const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]]
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit)
  }
  return format.format(Math.round(seconds), 'second')
}

/** The wall time of an instant in a time zone, as the API's `local_time` (YYYY-MM-DDTHH:MM:SS). */
export function wallTime (date, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23'
  }).formatToParts(date).map(p => [p.type, p.value]))
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`
}

/** The instant at which the wall time `local` ("YYYY-MM-DDTHH:MM[:SS]") happens in `timeZone`. */
export function instantFromWall (local, timeZone) {
  const [date, time = '00:00'] = local.split('T')
  const [y, mo, d] = date.split('-').map(Number)
  const [hh, mm, ss = 0] = time.split(':').map(Number)
  const asUtc = Date.UTC(y, mo - 1, d, hh, mm, ss)
  // the zone's offset at a moment, from how that moment reads there
  const offset = at => Date.parse(wallTime(new Date(at), timeZone) + 'Z') - at
  let instant = asUtc - offset(asUtc)
  instant = asUtc - offset(instant) // once more, for a guess that crossed a DST change
  return new Date(instant)
}

// -- platforms and states ------------------------------------------------------------------

export const PLATFORM_NAMES = {
  sandbox: 'Sandbox',
  x: 'X',
  reddit: 'Reddit',
  linkedin: 'LinkedIn',
  facebook: 'Facebook',
  instagram: 'Instagram',
  threads: 'Threads',
  mastodon: 'Mastodon',
  bluesky: 'Bluesky'
}

const PLATFORM_INITIALS = {
  sandbox: 'S', x: '𝕏', reddit: 'r/', linkedin: 'in', facebook: 'f', instagram: 'IG', threads: '@', mastodon: 'M', bluesky: 'B'
}

export const PLATFORM_COLORS = {
  sandbox: '#6b7280',
  x: '#0f1419',
  reddit: '#ff4500',
  linkedin: '#0a66c2',
  facebook: '#1877f2',
  instagram: '#e1306c',
  threads: '#7e57c2',
  mastodon: '#6364ff',
  bluesky: '#0085ff'
}

export function platformName (platform) {
  return PLATFORM_NAMES[platform] ?? platform
}

/** A small coloured square with the platform's initials; its name is in the accessible label. */
export function platformMark (platform, { label = true } = {}) {
  return h('span', {
    class: `platform-mark platform-${platform}`,
    style: { '--platform': PLATFORM_COLORS[platform] ?? '#6b7280' },
    role: label ? 'img' : null,
    'aria-label': label ? platformName(platform) : null,
    'aria-hidden': label ? null : 'true'
  }, PLATFORM_INITIALS[platform] ?? platform.slice(0, 2))
}

// Delivery states as people read them. `group` is the legend entry a state belongs to.
export const STATES = {
  draft: { label: 'Draft', icon: '✎', group: 'draft' },
  pending_approval: { label: 'Awaiting approval', icon: '⚑', group: 'pending_approval' },
  scheduled: { label: 'Scheduled', icon: '◷', group: 'scheduled' },
  claimed: { label: 'Publishing', icon: '➤', group: 'publishing' },
  publishing: { label: 'Publishing', icon: '➤', group: 'publishing' },
  retry_wait: { label: 'Retrying', icon: '↻', group: 'retry_wait' },
  published: { label: 'Published', icon: '✓', group: 'published' },
  uncertain: { label: 'Uncertain', icon: '?', group: 'uncertain' },
  failed: { label: 'Failed', icon: '!', group: 'failed' },
  cancelled: { label: 'Cancelled', icon: '⊘', group: 'cancelled' }
}

// The legend: one entry per group, with the API states it stands for.
export const STATE_GROUPS = [
  { id: 'draft', label: 'Draft', states: ['draft'] },
  { id: 'pending_approval', label: 'Awaiting approval', states: ['pending_approval'] },
  { id: 'scheduled', label: 'Scheduled', states: ['scheduled'] },
  { id: 'publishing', label: 'Publishing', states: ['claimed', 'publishing'] },
  { id: 'retry_wait', label: 'Retrying', states: ['retry_wait'] },
  { id: 'published', label: 'Published', states: ['published'] },
  { id: 'uncertain', label: 'Uncertain', states: ['uncertain'] },
  { id: 'failed', label: 'Failed', states: ['failed'] },
  { id: 'cancelled', label: 'Cancelled', states: ['cancelled'] }
]

export function stateInfo (state) {
  return STATES[state] ?? { label: state, icon: '•', group: state }
}

/** A pill with the state's marker and its name. */
export function statePill (state) {
  const info = stateInfo(state)
  return h('span', { class: `state-pill state-${info.group}` },
    h('span', { class: 'state-icon', 'aria-hidden': 'true' }, info.icon), info.label)
}

export const POST_STATUS_LABELS = {
  draft: 'Draft',
  pending_approval: 'Awaiting approval',
  scheduled: 'Scheduled',
  publishing: 'Publishing',
  published: 'Published',
  partially_published: 'Partly published',
  failed: 'Failed',
  cancelled: 'Cancelled'
}
