// Accounts: each connected profile with its health (active, expiring, needs reconnecting,
// suspended, restricted, paused) and what can be done about it; buttons to connect more.

import './shell.js'
import { api, boot } from './api.js'
import {
  busy, clearErrors, confirmDialog, fill, formatDateTime, h, placeErrors, platformMark, platformName,
  PLATFORM_NAMES, problemText, sentence, showError, toast
} from './ui.js'
import { connectAccount } from './connect.js'

const HEALTH = {
  active: 'Active',
  expiring: 'Expiring soon',
  needs_reconnect: 'Needs reconnecting',
  suspended: 'Suspended',
  restricted: 'Restricted',
  paused: 'Paused'
}
const CONNECTABLE = ['x', 'bluesky', 'mastodon', 'threads', 'instagram', 'facebook', 'linkedin', 'reddit']

function accountCard (a, reload) {
  const status = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const act = (label, cls, work, message) => h('button', {
    type: 'button',
    class: `button small ${cls}`,
    onclick: async e => {
      status.hidden = true
      try {
        const result = await busy(e.currentTarget, work)
        if (result === null) return // cancelled
        toast(message, { kind: 'success' })
        reload()
      } catch (error) {
        status.textContent = problemText(error)
        status.hidden = false
      }
    }
  }, label)
  const actions = []
  if (boot.can.manage) {
    if (['needs_reconnect', 'expiring'].includes(a.status) && a.platform !== 'sandbox') {
      actions.push(act('Reconnect', 'primary', () => connectAccount(a.platform, { handle: a.handle }), `Reconnected ${a.handle}`))
    }
    if (a.status === 'paused') actions.push(act('Resume', 'primary', () => api(`/accounts/${a.id}/resume`, { method: 'POST' }), `Resumed ${a.handle}`))
    else actions.push(act('Pause', '', () => api(`/accounts/${a.id}/pause`, { method: 'POST' }), `Paused ${a.handle}: its posts wait`))
    actions.push(act('Remove…', 'ghost', async () => {
      const sure = await confirmDialog({
        title: `Remove ${a.handle}?`,
        message: `postwright forgets this ${platformName(a.platform)} account and cancels what it has not published yet. Posts already published stay where they are.`,
        confirmLabel: 'Remove account',
        danger: true
      })
      return sure ? api(`/accounts/${a.id}`, { method: 'DELETE' }) : null
    }, `Removed ${a.handle}`))
  }
  return h('article', { class: 'card card-body account-card', 'aria-labelledby': 'acc-' + a.id },
    h('div', { class: 'account-head' },
      platformMark(a.platform, { label: true }),
      h('div', {},
        h('strong', { id: 'acc-' + a.id }, a.display_name || a.handle),
        h('span', { class: 'muted small-text' }, `${platformName(a.platform)} · ${a.handle}`))),
    h('p', { class: `health health-${a.status}` }, HEALTH[a.status] ?? a.status),
    a.status_reason ? h('p', { class: 'status-reason' }, sentence(a.status_reason)) : null,
    h('p', { class: 'muted small-text' }, 'Connected ' + formatDateTime(a.created_at)),
    status,
    actions.length ? h('div', { class: 'item-actions' }, actions) : null)
}

async function loadAccounts () {
  const accounts = await api('/accounts')
  const holder = document.getElementById('accounts')
  if (!accounts.length) {
    fill(holder, h('div', { class: 'card empty' }, h('strong', {}, 'No accounts yet'), 'Connect one below to start publishing.'))
    return
  }
  fill(holder, accounts.map(a => accountCard(a, () => loadAccounts())))
}

async function loadConnectors () {
  let connectors = []
  try {
    connectors = await api('/accounts/connect')
  } catch {
    connectors = CONNECTABLE.map(platform => ({ platform, configured: true, setup_hint: null }))
  }
  const byPlatform = new Map(connectors.map(c => [c.platform, c]))
  const holder = document.getElementById('connectors')
  fill(holder, CONNECTABLE.filter(p => byPlatform.has(p)).map(platform => {
    const c = byPlatform.get(platform)
    const usable = boot.can.manage && c.configured
    const hintId = 'hint-' + platform
    const button = h('button', {
      type: 'button',
      class: 'button connect-button',
      disabled: !usable,
      'aria-describedby': c.configured ? null : hintId,
      onclick: async e => {
        try {
          const account = await busy(e.currentTarget, () => connectAccount(platform))
          if (account) {
            toast(`Connected ${account.handle}`, { kind: 'success' })
            loadAccounts()
          }
        } catch (error) {
          toast(problemText(error), { kind: 'error' })
        }
      }
    }, platformMark(platform, { label: false }), `Connect ${PLATFORM_NAMES[platform]}`)
    return h('div', {}, button,
      c.configured ? null : h('p', { class: 'hint', id: hintId }, c.setup_hint ? 'Not configured: ' + c.setup_hint : 'Not configured on this server.'))
  }))
}

function setupSandbox () {
  const form = document.getElementById('sandbox-form')
  const input = document.getElementById('sandbox-handle')
  form.addEventListener('submit', async e => {
    e.preventDefault()
    clearErrors(form)
    if (!input.value.trim()) {
      showError(input, 'Give the account a handle, like our-brand.')
      input.focus()
      return
    }
    try {
      const account = await busy(document.getElementById('sandbox-add'), () =>
        api('/accounts', { method: 'POST', body: { platform: 'sandbox', handle: input.value.trim() } }))
      toast(`Added the sandbox account ${account.handle}`, { kind: 'success' })
      input.value = ''
      loadAccounts()
    } catch (error) {
      for (const message of placeErrors(error, () => input)) showError(input, sentence(message))
    }
  })
}

// The notice a redirect asked for (`?connected=` or `?connect_error=`) is said once: a reload
// or a bookmark of this address must not say it again.
function showNotice () {
  const notice = document.getElementById('notice')
  if (!notice) return
  history.replaceState(null, '', location.pathname + location.hash)
  notice.focus()
}

showNotice()
setupSandbox()
Promise.all([loadAccounts(), loadConnectors()])
  .catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
