// The composer: one text for every chosen account, with per-account overrides and options,
// counters counted each platform's way (by the server, POST /preview/count), previews, media,
// time, repetition, priority, campaign and approval. Saving sends one POST (or PATCH when
// editing) and shows each error the API reports next to the field it names.

import './shell.js'
import { api, apiAll, boot } from './api.js'
import {
  browserTimeZone, busy, clearErrors, debounce, fill, formatDateTime, h, instantFromWall, modal,
  platformMark, platformName, problemText, sentence, showError, timeZones, toast, wallTime
} from './ui.js'
import { previewCard } from './previews.js'

const COUNT_DELAY_MS = 250
const NEAR = 0.9 // a counter turns amber at 90% of the limit

// Options each platform takes per target (the server checks the values: content_rules.py).
const OPTION_FIELDS = {
  x: [{ name: 'reply_settings', label: 'Who can reply', type: 'select', choices: [['', 'Everyone'], ['following', 'Accounts you follow'], ['mentionedUsers', 'Only accounts you mention'], ['subscribers', 'Subscribers'], ['verified', 'Verified accounts']] }],
  mastodon: [
    { name: 'visibility', label: 'Visibility', type: 'select', choices: [['', 'Public'], ['unlisted', 'Unlisted'], ['private', 'Followers only'], ['direct', 'Mentioned people only']] },
    { name: 'spoiler_text', label: 'Content warning', type: 'text', hint: 'Counts towards the limit.' },
    { name: 'language', label: 'Language', type: 'text', placeholder: 'en' },
    { name: 'sensitive', label: 'Mark media as sensitive', type: 'checkbox' }
  ],
  bluesky: [{ name: 'langs', label: 'Languages', type: 'list', placeholder: 'en, fr', hint: 'Up to 3 language codes, comma separated.' }],
  linkedin: [{ name: 'visibility', label: 'Visibility', type: 'select', choices: [['', 'Anyone (public)'], ['CONNECTIONS', 'Connections only'], ['LOGGED_IN', 'Signed-in members'], ['CONTAINER', 'Group or page members']] }],
  instagram: [{ name: 'media_type', label: 'Post as', type: 'select', choices: [['', 'Feed post'], ['REELS', 'Reel'], ['STORIES', 'Story']] }],
  reddit: [
    { name: 'subreddit', label: 'Subreddit', type: 'text', placeholder: 'r/python', required: true },
    { name: 'title', label: 'Title', type: 'text', required: true },
    { name: 'kind', label: 'Kind', type: 'select', choices: [['', 'Text post'], ['link', 'Link'], ['image', 'Image'], ['video', 'Video']] }
  ]
}

const RRULES = {
  daily: () => 'FREQ=DAILY',
  weekdays: () => 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
  weekly: date => 'FREQ=WEEKLY;BYDAY=' + ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'][date.getUTCDay()],
  monthly: date => 'FREQ=MONTHLY;BYMONTHDAY=' + date.getUTCDate()
}

const $ = id => document.getElementById(id)

const S = {
  accounts: new Map(), // id -> account
  platforms: new Map(), // platform -> limits
  selected: [], // account ids, in the order they were picked (the order of `targets`)
  targets: new Map(), // account id -> { custom, text, options }
  media: [], // [{id, filename, type, size, mime_type, alt_text, url}]
  counts: new Map(), // account id -> { key, result, controller }
  tab: 'all',
  editing: null, // the post being edited
  sent: [] // account ids of the last request's targets, to read `targets.N.*` errors
}

// -- accounts ----------------------------------------------------------------------------

function renderAccounts () {
  const holder = $('accounts')
  const accounts = [...S.accounts.values()]
  if (!accounts.length) {
    fill(holder, h('p', { class: 'muted' }, 'No accounts yet. ', h('a', { href: '/accounts' }, 'Connect one'), ' to start posting.'))
    return
  }
  fill(holder, accounts.map(a => {
    const input = h('input', {
      type: 'checkbox',
      id: 'account-' + a.id,
      value: a.id,
      checked: S.selected.includes(a.id),
      onchange: e => toggleAccount(a.id, e.target.checked)
    })
    const trouble = a.status !== 'active'
    return h('label', { class: 'account-option', for: 'account-' + a.id },
      input,
      platformMark(a.platform),
      h('span', { class: 'who' },
        h('strong', {}, a.display_name || a.handle),
        h('span', {}, platformName(a.platform) + (a.display_name && a.display_name !== a.handle ? ` · ${a.handle}` : '') + (trouble ? ` · ${a.status.replace('_', ' ')}` : ''))),
      h('span', { class: 'tick', 'aria-hidden': 'true' }, '✓'))
  }))
}

function toggleAccount (id, on) {
  if (on && !S.selected.includes(id)) S.selected.push(id)
  if (!on) S.selected = S.selected.filter(x => x !== id)
  if (!S.targets.has(id)) S.targets.set(id, { custom: false, text: '', options: {} })
  if (!on && S.tab === id) S.tab = 'all'
  renderTabs()
  update()
}

// -- tabs: the shared text, then one per chosen account ----------------------------------

const panels = new Map() // 'all' | account id -> panel element

function tabId (key) { return 'tab-' + key }
function panelId (key) { return 'panel-' + key }

function renderTabs () {
  const keys = ['all', ...S.selected]
  const tabs = keys.map(key => {
    const account = S.accounts.get(key)
    const selected = key === S.tab
    return h('button', {
      type: 'button',
      role: 'tab',
      id: tabId(key),
      class: 'tab',
      'aria-selected': String(selected),
      'aria-controls': panelId(key),
      tabindex: selected ? '0' : '-1',
      onclick: () => selectTab(key),
      onkeydown: e => tabKeys(e, keys, key)
    },
    account ? [platformMark(account.platform, { label: false }), account.handle] : 'All accounts',
    h('span', { class: 'tab-flag', hidden: true, 'aria-hidden': 'true' }))
  })
  fill($('tabs'), tabs)
  const holder = $('panels')
  for (const [key, panel] of panels) if (!keys.includes(key)) { panel.remove(); panels.delete(key) }
  for (const key of keys) {
    if (!panels.has(key)) panels.set(key, key === 'all' ? sharedPanel() : accountPanel(key))
    const panel = panels.get(key)
    panel.hidden = key !== S.tab
    holder.append(panel)
  }
}

function selectTab (key, { focus = true } = {}) {
  S.tab = key
  for (const tab of $('tabs').children) {
    const on = tab.id === tabId(key)
    tab.setAttribute('aria-selected', String(on))
    tab.tabIndex = on ? 0 : -1
    if (on && focus) tab.focus()
  }
  for (const [k, panel] of panels) panel.hidden = k !== key
}

function tabKeys (event, keys, key) {
  const i = keys.indexOf(key)
  const go = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: keys.length - 1 }[event.key]
  if (go === undefined) return
  event.preventDefault()
  selectTab(keys[(go + keys.length) % keys.length])
}

function sharedPanel () {
  const panel = h('div', { role: 'tabpanel', id: panelId('all'), 'aria-labelledby': tabId('all'), class: 'stack' },
    h('div', { class: 'field' },
      h('label', { for: 'text' }, 'Text for every account'),
      h('textarea', { id: 'text', rows: 7, placeholder: 'What do you want to say?', 'aria-describedby': 'counters-hint', oninput: update }),
      h('p', { class: 'hint', id: 'counters-hint' }, 'Each account counts this its own way; an account with its own text in its tab uses that instead.'),
      h('div', { id: 'counters', class: 'counters', 'aria-live': 'polite' })))
  return panel
}

function accountPanel (id) {
  const account = S.accounts.get(id)
  const target = S.targets.get(id)
  const textId = 'text-' + id
  const custom = h('input', {
    type: 'checkbox',
    id: 'custom-' + id,
    checked: target.custom,
    onchange: e => {
      target.custom = e.target.checked
      if (target.custom && !target.text) target.text = $('text').value
      area.value = target.text
      areaField.hidden = !target.custom
      if (target.custom) area.focus()
      update()
    }
  })
  const area = h('textarea', {
    id: textId,
    rows: 7,
    'aria-describedby': 'count-' + id,
    oninput: e => { target.text = e.target.value; update() }
  })
  area.value = target.text
  const areaField = h('div', { class: 'field', hidden: !target.custom },
    h('label', { for: textId }, `Text for ${account.handle} on ${platformName(account.platform)}`), area)
  const options = (OPTION_FIELDS[account.platform] ?? []).map(field => optionField(id, field))
  return h('div', { role: 'tabpanel', id: panelId(id), 'aria-labelledby': tabId(id), class: 'stack', hidden: true },
    h('label', { class: 'check', for: 'custom-' + id }, custom, `Write a different text for ${account.handle}`),
    areaField,
    h('div', { class: 'counter-line', id: 'count-' + id, 'aria-live': 'polite' }),
    h('ul', { class: 'problems', id: 'problems-' + id, hidden: true }),
    options.length ? h('div', { class: 'options-grid' }, options) : null)
}

function optionField (accountId, field) {
  const target = S.targets.get(accountId)
  const id = `opt-${accountId}-${field.name}`
  const current = target.options[field.name]
  const set = value => {
    if (value === '' || value === false || value === undefined || (Array.isArray(value) && !value.length)) delete target.options[field.name]
    else target.options[field.name] = value
    update()
  }
  if (field.type === 'checkbox') {
    return h('div', { class: 'field' }, h('label', { class: 'check', for: id },
      h('input', { type: 'checkbox', id, checked: Boolean(current), onchange: e => set(e.target.checked) }), field.label))
  }
  let input
  if (field.type === 'select') {
    input = h('select', { id, onchange: e => set(e.target.value) },
      field.choices.map(([value, label]) => h('option', { value }, label)))
    input.value = current ?? ''
  } else {
    input = h('input', {
      id,
      type: 'text',
      placeholder: field.placeholder,
      value: Array.isArray(current) ? current.join(', ') : (current ?? ''),
      required: field.required,
      oninput: e => set(field.type === 'list'
        ? e.target.value.split(',').map(s => s.trim()).filter(Boolean)
        : e.target.value)
    })
  }
  const hintId = id + '-hint'
  if (field.hint) input.setAttribute('aria-describedby', hintId)
  return h('div', { class: 'field' },
    h('label', { for: id }, field.label + (field.required ? '' : ' (optional)')),
    input,
    field.hint ? h('p', { class: 'hint', id: hintId }, field.hint) : null)
}

// -- what each target sends --------------------------------------------------------------

function textFor (id) {
  const target = S.targets.get(id)
  return target.custom ? target.text : $('text').value
}

function countingOptions (id) {
  const account = S.accounts.get(id)
  const defaults = {}
  if (account.options?.max_characters) defaults.max_characters = account.options.max_characters
  return { ...defaults, ...S.targets.get(id).options }
}

// -- counters ----------------------------------------------------------------------------

const recount = debounce(() => {
  for (const id of S.selected) countOne(id)
}, COUNT_DELAY_MS)

async function countOne (id) {
  const account = S.accounts.get(id)
  const body = { platform: account.platform, text: textFor(id), options: countingOptions(id) }
  const key = JSON.stringify(body)
  const known = S.counts.get(id)
  if (known?.key === key) return
  known?.controller?.abort()
  const controller = new AbortController()
  S.counts.set(id, { key, result: known?.result, controller })
  try {
    const result = await api('/preview/count', { method: 'POST', body, signal: controller.signal })
    S.counts.set(id, { key, result })
    renderCounter(id)
  } catch (error) {
    if (error.name !== 'AbortError') S.counts.delete(id)
  }
}

function counterState (result) {
  if (!result) return ''
  if (!result.within_limit) return 'over'
  return result.count >= result.limit * NEAR ? 'near' : ''
}

function renderCounter (id) {
  const result = S.counts.get(id)?.result
  const account = S.accounts.get(id)
  if (!account) return
  const line = $('count-' + id)
  if (line && result) {
    const size = result.max_bytes ? ` · ${result.bytes.toLocaleString()} / ${result.max_bytes.toLocaleString()} bytes` : ''
    fill(line,
      h('span', {},
        h('span', { class: `count ${result.within_limit ? '' : 'over'}` }, `${result.count.toLocaleString()} / ${result.limit.toLocaleString()}`),
        ` ${result.unit}${size}`),
      result.note ? h('span', {}, `${platformName(account.platform)}: ${result.note}`) : null)
    const problems = $('problems-' + id)
    problems.hidden = !result.problems.length
    fill(problems, result.problems.map(p => h('li', {}, sentence(p.message))))
  }
  renderCounterPills()
}

function renderCounterPills () {
  const holder = $('counters')
  if (!holder) return
  fill(holder, S.selected.map(id => {
    const account = S.accounts.get(id)
    const result = S.counts.get(id)?.result
    const label = result
      ? `${account.handle} on ${platformName(account.platform)}: ${result.count} of ${result.limit} ${result.unit}${S.targets.get(id).custom ? ' (its own text)' : ''}`
      : `${account.handle}: counting`
    return h('span', { class: `counter ${counterState(result)}`, title: label, 'aria-label': label },
      platformMark(account.platform, { label: false }),
      result ? h('span', {}, h('b', {}, result.count.toLocaleString()), `/${result.limit.toLocaleString()}`) : '…',
      S.targets.get(id).custom ? ' ✎' : '')
  }))
}

// -- media -------------------------------------------------------------------------------

function mediaKind (mime) {
  if (mime === 'image/gif') return 'gif'
  if (mime.startsWith('image/')) return 'image'
  if (mime.startsWith('video/')) return 'video'
  return 'other'
}

async function chooseFiles (files) {
  for (const file of files) await uploadDialog(file)
  update()
}

function uploadDialog (file) {
  const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : null
  return modal({
    title: 'Add ' + file.name,
    build: close => {
      const alt = h('textarea', { id: 'alt-text', rows: 3, 'aria-describedby': 'alt-hint' })
      const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
      const upload = h('button', { type: 'submit', class: 'button primary' }, 'Upload')
      const form = h('form', { class: 'dialog-body stack' },
        preview ? h('img', { src: preview, alt: '', class: 'upload-preview' }) : h('p', { class: 'muted' }, `${file.name} · ${(file.size / 1e6).toFixed(1)} MB`),
        h('div', { class: 'field' },
          h('label', { for: 'alt-text' }, 'Describe it for people who cannot see it (alt text)'),
          h('p', { class: 'hint', id: 'alt-hint' }, 'Optional, and sent to every platform that takes it.'),
          alt),
        error,
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'button', onclick: () => close(null) }, 'Cancel'),
          upload))
      form.addEventListener('submit', async e => {
        e.preventDefault()
        error.hidden = true
        const data = new FormData()
        data.append('file', file)
        if (alt.value.trim()) data.append('alt_text', alt.value.trim())
        try {
          const media = await busy(upload, () => api('/media', { method: 'POST', body: data }))
          S.media.push({ ...media, url: `/api/v1/media/${media.id}/content` })
          renderMedia()
          close(media)
        } catch (err) {
          error.textContent = (err.errors?.length ? err.errors.map(x => sentence(x.message)).join(' ') : sentence(err.detail ?? String(err)))
          error.hidden = false
        }
      })
      return form
    }
  }).finally(() => { if (preview) URL.revokeObjectURL(preview) })
}

function renderMedia () {
  fill($('media-list'), S.media.map((m, i) => h('figure', { class: 'media-item', id: 'media-' + i },
    m.type === 'video' || m.type === 'other'
      ? h('div', { class: 'media-placeholder' }, m.type === 'video' ? '▶ Video' : 'File')
      : h('img', { src: m.url, alt: m.alt_text ?? '' }),
    h('figcaption', {}, `${m.filename} · ${(m.size / 1e6).toFixed(1)} MB`),
    h('button', {
      type: 'button',
      class: 'remove',
      'aria-label': 'Remove ' + m.filename,
      onclick: () => { S.media.splice(i, 1); renderMedia(); update() }
    }, '×'))))
  renderMediaWarnings()
}

/** What each chosen platform will refuse about the attached media, checked before saving. */
function mediaWarnings () {
  const found = []
  const kinds = S.media.map(m => m.type ?? mediaKind(m.mime_type))
  for (const platform of new Set(S.selected.map(id => S.accounts.get(id).platform))) {
    const limits = S.platforms.get(platform)
    if (!limits) continue
    const name = platformName(platform)
    if (!S.media.length) {
      if (limits.media_required) found.push(`${name} needs at least one image or video.`)
      continue
    }
    const group = limits.media_groups.find(g => kinds.every(k => g.kinds.includes(k)))
    if (!group) {
      found.push(`${name} does not take this mix of media (${[...new Set(kinds)].join(', ')}).`)
      continue
    }
    if (group.max_items !== null && S.media.length > group.max_items) {
      found.push(`${name} takes at most ${group.max_items} of these per post; ${S.media.length} are attached.`)
    }
    for (const m of S.media) {
      const cap = limits.max_bytes[m.type]
      if (cap && m.size > cap) found.push(`${name}: ${m.filename} is ${(m.size / 1e6).toFixed(1)} MB; it takes up to ${(cap / 1e6).toFixed(1)} MB.`)
      const types = limits.mime_types[m.type]
      if (types && !types.includes(m.mime_type)) found.push(`${name}: ${m.filename} is ${m.mime_type}; it takes ${types.join(', ')}.`)
    }
  }
  return found
}

function renderMediaWarnings () {
  const list = $('media-warnings')
  const warnings = mediaWarnings()
  list.hidden = !warnings.length
  fill(list, warnings.map(w => h('li', {}, w)))
}

function setupDropzone () {
  const zone = $('dropzone')
  const input = $('media-input')
  input.addEventListener('change', () => {
    const files = [...input.files]
    input.value = ''
    chooseFiles(files)
  })
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('over') })
  zone.addEventListener('dragleave', () => zone.classList.remove('over'))
  zone.addEventListener('drop', e => {
    e.preventDefault()
    zone.classList.remove('over')
    chooseFiles([...e.dataTransfer.files])
  })
}

// -- when --------------------------------------------------------------------------------

function setupWhen () {
  fill($('time-zones'), timeZones().map(z => h('option', { value: z })))
  $('timezone').value = browserTimeZone
  const soon = new Date(Date.now() + 60 * 60 * 1000)
  soon.setMinutes(0, 0, 0)
  const wall = wallTime(soon, browserTimeZone)
  $('date').value = wall.slice(0, 10)
  $('time').value = wall.slice(11, 16)
  for (const id of ['date', 'time', 'timezone']) $(id).addEventListener('input', updateWhen)
  $('repeat').addEventListener('change', () => {
    $('rrule-field').hidden = $('repeat').value !== 'custom'
    updateSummary()
  })
  $('approval').addEventListener('change', updateSummary)
}

function localTime () {
  const date = $('date').value
  const time = $('time').value
  return date && time ? `${date}T${time}` : null
}

function recurrence () {
  const choice = $('repeat').value
  if (!choice) return null
  if (choice === 'custom') return $('rrule').value.trim() || null
  const date = $('date').value ? new Date($('date').value + 'T00:00:00Z') : new Date()
  return RRULES[choice](date)
}

function updateWhen () {
  const hint = $('zone-hint')
  const local = localTime()
  const zone = $('timezone').value.trim()
  hint.textContent = ''
  if (local && zone && zone !== browserTimeZone && timeZones().includes(zone)) {
    const instant = instantFromWall(local, zone)
    hint.textContent = `That is ${formatDateTime(instant, browserTimeZone, { withZone: true })} where you are.`
  }
  updateSummary()
}

// -- previews and the summary ------------------------------------------------------------

function renderPreviews () {
  const holder = $('previews')
  if (!S.selected.length) {
    fill(holder, h('p', { class: 'muted' }, 'Pick an account to see how the post will look there.'))
    return
  }
  fill(holder, S.selected.map(id => {
    const account = S.accounts.get(id)
    return h('div', {},
      h('p', { class: 'preview-label' }, platformMark(account.platform, { label: false }), `${platformName(account.platform)} · ${account.handle}`),
      previewCard({ account, text: textFor(id), media: S.media, options: S.targets.get(id).options }))
  }))
}

function updateSummary () {
  const approval = $('approval').checked
  $('schedule').textContent = approval ? 'Send for approval' : (S.editing ? 'Save and schedule' : 'Schedule')
  const local = localTime()
  const zone = $('timezone').value.trim()
  const parts = []
  parts.push(S.selected.length ? `${S.selected.length} ${S.selected.length === 1 ? 'account' : 'accounts'}` : 'No account chosen')
  if (local && zone) parts.push(`${local.replace('T', ' at ')} (${zone})`)
  if (recurrence()) parts.push('repeats')
  if (approval) parts.push('needs approval')
  $('action-summary').textContent = parts.join(' · ')
}

function update () {
  renderPreviews()
  renderCounterPills()
  renderMediaWarnings()
  updateSummary()
  recount()
}

// -- saving ------------------------------------------------------------------------------

function requestBody (status) {
  S.sent = [...S.selected]
  const body = {
    text: $('text').value,
    targets: S.sent.map(id => {
      const target = S.targets.get(id)
      return { account_id: id, text: target.custom ? target.text : null, options: target.options }
    }),
    media_ids: S.media.map(m => m.id),
    status,
    priority: $('priority').value,
    campaign_id: $('campaign').value || null,
    notes: $('notes').value.trim() || null,
    approval_required: $('approval').checked,
    recurrence: recurrence()
  }
  const local = localTime()
  if (local) {
    body.local_time = local
    body.timezone = $('timezone').value.trim() || browserTimeZone
  } else if (status === 'draft' && !S.editing) {
    body.timezone = $('timezone').value.trim() || browserTimeZone
  }
  return body
}

/** The input an API error's field names, and the words to put in front of its message. */
function locate (field) {
  const target = field.match(/^targets\.(\d+)(?:\.(.+))?$/)
  if (target) {
    const id = S.sent[Number(target[1])]
    const account = S.accounts.get(id)
    const rest = target[2] ?? ''
    const who = account ? `${platformName(account.platform)} (${account.handle}): ` : ''
    if (rest === 'text') {
      return S.targets.get(id)?.custom
        ? { input: $('text-' + id), tab: id, summaryPrefix: who }
        : { input: $('text'), tab: 'all', prefix: who, flag: id }
    }
    if (rest.startsWith('options.')) {
      const input = $(`opt-${id}-${rest.slice('options.'.length)}`)
      return input ? { input, tab: id } : { input: $('custom-' + id), tab: id, prefix: `${rest}: ` }
    }
    if (rest === 'media' || rest.startsWith('media')) return { input: $('media-input'), holder: $('media-field'), prefix: who }
    return { input: $('account-' + id) ?? $('accounts').querySelector('input'), holder: $('accounts-field'), prefix: who }
  }
  if (field === 'targets') return { input: $('accounts').querySelector('input'), holder: $('accounts-field') }
  if (field === 'text') return { input: $('text'), tab: 'all' }
  if (field.startsWith('media_ids')) return { input: $('media-input'), holder: $('media-field') }
  if (field === 'local_time' || field === 'scheduled_at') return { input: $('date') }
  if (field === 'timezone') return { input: $('timezone') }
  if (field === 'recurrence') return $('repeat').value === 'custom' ? { input: $('rrule') } : { input: $('repeat') }
  if (field === 'campaign_id') return { input: $('campaign') }
  if (field === 'priority') return { input: $('priority') }
  if (field === 'notes') return { input: $('notes') }
  if (field === 'approval_required') return { input: $('approval') }
  return null
}

function clearAllErrors () {
  clearErrors($('composer'))
  for (const box of document.querySelectorAll('#composer .field-error')) box.remove()
  for (const flag of document.querySelectorAll('.tab-flag')) flag.hidden = true
  $('error-summary').hidden = true
}

function showProblems (error) {
  const summary = $('error-summary')
  const items = []
  const errors = error.errors?.length ? error.errors : [{ field: '', message: error.detail ?? String(error) }]
  for (const e of errors) {
    const found = locate(e.field)
    const message = (found?.prefix ?? '') + sentence(e.message)
    if (found?.input) {
      if (found.holder) {
        const box = h('p', { class: 'field-error', id: 'err-' + Math.random().toString(36).slice(2, 8) }, message)
        found.holder.append(box)
      } else {
        showError(found.input, message)
      }
      for (const key of [found.tab, found.flag].filter(Boolean)) {
        const flag = $(tabId(key))?.querySelector('.tab-flag')
        if (flag) flag.hidden = false
      }
      const linkText = (found.summaryPrefix ?? '') + message
      items.push(h('li', { dataset: { for: found.input.id } }, h('a', {
        href: '#' + found.input.id,
        onclick: ev => {
          ev.preventDefault()
          if (found.tab) selectTab(found.tab, { focus: false })
          found.input.focus()
        }
      }, linkText)))
    } else {
      items.push(h('li', {}, message))
    }
  }
  fill($('error-list'), items)
  summary.hidden = false
  summary.focus()
}

async function save (status, button, { publishNow = false } = {}) {
  clearAllErrors()
  const body = requestBody(publishNow ? 'draft' : status)
  try {
    const post = await busy(button, async () => {
      let saved = S.editing
        ? await api(`/posts/${S.editing.id}`, { method: 'PATCH', body })
        : await api('/posts', { method: 'POST', body })
      if (publishNow) saved = await api(`/posts/${saved.id}/publish-now`, { method: 'POST' })
      return saved
    })
    const what = publishNow
      ? 'Publishing now'
      : post.status === 'pending_approval'
        ? 'Sent for approval'
        : post.status === 'scheduled'
          ? `Scheduled for ${formatDateTime(post.scheduled_at, body.timezone ?? browserTimeZone)}`
          : 'Saved as a draft'
    sessionStorage.setItem('pw.flash', what)
    location.assign(post.status === 'pending_approval' && boot.can.approve ? '/approvals' : '/')
  } catch (error) {
    if (publishNow && !S.editing && error.status !== 422) {
      // the draft was saved; only publishing it was refused
      toast(sentence(error.detail), { kind: 'error' })
    }
    showProblems(error)
  }
}

// -- loading -----------------------------------------------------------------------------

async function loadPost (id) {
  const post = await api(`/posts/${id}`)
  S.editing = post
  $('composer-title').textContent = 'Edit post'
  document.title = 'Edit post · postwright'
  $('text').value = post.text
  const seen = new Set()
  for (const d of post.deliveries) {
    if (seen.has(d.account_id) || !S.accounts.has(d.account_id)) continue
    seen.add(d.account_id)
    S.selected.push(d.account_id)
    S.targets.set(d.account_id, { custom: d.text !== null, text: d.text ?? '', options: { ...d.options } })
  }
  for (const mediaId of post.media_ids) {
    try {
      const m = await api(`/media/${mediaId}`)
      S.media.push({ ...m, url: `/api/v1/media/${m.id}/content` })
    } catch {
      // a media deleted since: saving will say so next to the media
    }
  }
  if (post.local_time) {
    $('date').value = post.local_time.slice(0, 10)
    $('time').value = post.local_time.slice(11, 16)
  } else if (post.scheduled_at) {
    const wall = wallTime(new Date(post.scheduled_at), post.timezone)
    $('date').value = wall.slice(0, 10)
    $('time').value = wall.slice(11, 16)
  }
  $('timezone').value = post.timezone
  $('priority').value = post.priority
  $('campaign').value = post.campaign_id ?? ''
  $('notes').value = post.notes ?? ''
  $('approval').checked = post.approval_required
  if (post.recurrence) {
    $('repeat').value = 'custom'
    $('rrule').value = post.recurrence
    $('rrule-field').hidden = false
  }
  if (post.review_note) toast('Reviewer’s note: ' + post.review_note, { timeout: 0 })
}

/** Editing a field takes its error away: the message was about what it said before. */
function clearOnEdit () {
  const forget = event => {
    const input = event.target
    if (input.getAttribute?.('aria-invalid') !== 'true') return
    input.removeAttribute('aria-invalid')
    const holder = input.closest('.field, fieldset') ?? input.parentElement
    holder.querySelector(':scope > .field-error')?.remove()
    for (const item of document.querySelectorAll(`#error-list li[data-for="${input.id}"]`)) item.remove()
    if (!$('error-list').children.length) $('error-summary').hidden = true
  }
  $('composer').addEventListener('input', forget)
  $('composer').addEventListener('change', forget)
}

async function main () {
  if (!$('composer')) return
  clearOnEdit()
  renderTabs()
  setupWhen()
  setupDropzone()
  $('schedule').closest('form').addEventListener('submit', e => {
    e.preventDefault()
    save('scheduled', $('schedule'))
  })
  $('save-draft').addEventListener('click', e => save('draft', e.currentTarget))
  $('publish-now').addEventListener('click', e => save('draft', e.currentTarget, { publishNow: true }))

  const [accounts, platforms, campaigns] = await Promise.all([
    api('/accounts'),
    api('/platforms'),
    apiAll('/campaigns').catch(() => [])
  ])
  for (const a of accounts) S.accounts.set(a.id, a)
  for (const p of platforms) S.platforms.set(p.platform, p)
  for (const c of campaigns) $('campaign').append(h('option', { value: c.id }, c.name))

  const params = new URLSearchParams(location.search)
  if (params.get('post')) {
    try {
      await loadPost(params.get('post'))
    } catch (error) {
      toast(problemText(error), { kind: 'error', timeout: 0 })
    }
  } else {
    if (params.get('date')) $('date').value = params.get('date')
    if (params.get('time')) $('time').value = params.get('time')
    // one account: nothing to choose
    if (accounts.length === 1) S.selected.push(accounts[0].id)
  }
  for (const id of S.accounts.keys()) if (!S.targets.has(id)) S.targets.set(id, { custom: false, text: '', options: {} })
  renderAccounts()
  renderTabs()
  renderMedia()
  updateWhen()
  update()
}

main().catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
