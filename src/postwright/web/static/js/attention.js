// "Needs attention": failed, uncertain and held deliveries
// (GET /deliveries?state=failed&state=uncertain&held=true), each with the server's reason in
// plain words and a button for every action the server says applies to it.

import './shell.js'
import { api, apiAll, boot } from './api.js'
import {
  busy, confirmDialog, fill, formatDateTime, formDialog, h, platformMark, platformName, problemText,
  relative, sentence, statePill, toast
} from './ui.js'
import { refreshBadges } from './shell.js'
import { connectAccount } from './connect.js'

const REFRESH_MS = 10_000

const HEADLINES = {
  failed: 'Not published',
  uncertain: 'Maybe published',
  scheduled: 'Waiting',
  retry_wait: 'Waiting to retry'
}

function attemptsTable (attempts) {
  if (!attempts.length) return h('p', { class: 'muted' }, 'No attempts yet.')
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ['#', 'When', 'Outcome', 'HTTP', 'Error'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, attempts.map(a => h('tr', {},
      h('td', { class: 'num' }, String(a.number)),
      h('td', {}, formatDateTime(a.started_at)),
      h('td', {}, a.outcome.replace(/_/g, ' ')),
      h('td', { class: 'num' }, a.http_status ?? '—'),
      h('td', {}, a.error ?? ''))))))
}

function deliveryItem (d, reload) {
  const status = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const run = (work, message) => async e => {
    status.hidden = true
    try {
      await busy(e.currentTarget, work)
      toast(message, { kind: 'success' })
      refreshBadges()
      reload()
    } catch (error) {
      status.textContent = problemText(error)
      status.hidden = false
    }
  }
  const buttons = {
    retry: () => h('button', { type: 'button', class: 'button primary', onclick: run(() => api(`/deliveries/${d.id}/retry`, { method: 'POST' }), 'Retrying now') }, 'Retry now'),
    reconnect_account: () => h('button', {
      type: 'button',
      class: 'button primary',
      onclick: async e => {
        status.hidden = true
        try {
          const account = await busy(e.currentTarget, () => connectAccount(d.account.platform, { handle: d.account.handle }))
          if (account) {
            toast(`Reconnected ${d.account.handle}`, { kind: 'success' })
            reload()
          }
        } catch (error) {
          status.textContent = problemText(error)
          status.hidden = false
        }
      }
    }, `Reconnect ${d.account.handle}`),
    resume_account: () => h('button', { type: 'button', class: 'button primary', onclick: run(() => api(`/accounts/${d.account.id}/resume`, { method: 'POST' }), `Resumed ${d.account.handle}`) }, 'Resume the account'),
    mark_published: () => h('button', {
      type: 'button',
      class: 'button',
      onclick: async () => {
        const done = await formDialog({
          title: 'Mark as published',
          intro: `Found it on ${platformName(d.platform)}? Paste its link; postwright records it as published and will not send it again.`,
          fields: [
            { name: 'permalink', label: 'Link to the post', type: 'url', required: true, placeholder: 'https://' },
            { name: 'external_id', label: 'The platform’s id for it' }
          ],
          submitLabel: 'Mark as published',
          submit: v => api(`/deliveries/${d.id}/mark-published`, { method: 'POST', body: { permalink: v.permalink, external_id: v.external_id || null } })
        })
        if (done) {
          toast('Recorded as published', { kind: 'success' })
          refreshBadges()
          reload()
        }
      }
    }, 'Mark as published…'),
    edit: () => h('a', { class: 'button', href: `/compose?post=${d.post_id}` }, 'Edit'),
    skip_occurrence: () => h('button', {
      type: 'button',
      class: 'button',
      onclick: run(() => api(`/posts/${d.post_id}/occurrences/skip`, { method: 'POST', body: { occurrence_at: d.occurrence_at } }), 'Skipped this occurrence')
    }, 'Skip this occurrence'),
    cancel: () => h('button', {
      type: 'button',
      class: 'button danger-outline',
      onclick: async e => {
        const sure = await confirmDialog({
          title: 'Cancel this delivery?',
          message: `It will not be published to ${platformName(d.platform)} (${d.account.handle}). The post's other accounts are not affected.`,
          confirmLabel: 'Cancel delivery',
          danger: true
        })
        if (sure) run(() => api(`/deliveries/${d.id}/cancel`, { method: 'POST' }), 'Cancelled')(e)
      }
    }, 'Cancel')
  }
  const order = ['retry', 'reconnect_account', 'resume_account', 'mark_published', 'edit', 'skip_occurrence', 'cancel']
  const allowed = action => boot.can.write || action === 'edit'
  const actions = order.filter(a => d.actions.includes(a) && allowed(a)).map(a => buttons[a]())

  const attempts = h('details', { class: 'attempts' }, h('summary', {}, `Attempts (${d.attempts})`), h('div', {}, 'Loading…'))
  attempts.addEventListener('toggle', async () => {
    if (!attempts.open || attempts.dataset.loaded) return
    attempts.dataset.loaded = '1'
    try {
      fill(attempts.lastElementChild, attemptsTable(await api(`/deliveries/${d.id}/attempts`)))
    } catch (error) {
      fill(attempts.lastElementChild, sentence(error.detail))
    }
  })

  const when = d.published_at ?? d.scheduled_at
  return h('article', { class: 'card card-body item', id: 'delivery-' + d.id, 'aria-labelledby': 'title-' + d.id },
    platformMark(d.platform),
    h('div', { class: 'item-main' },
      h('h2', { class: 'item-title', id: 'title-' + d.id },
        h('span', {}, `${HEADLINES[d.state] ?? 'Needs attention'} · ${platformName(d.platform)} · ${d.account.handle}`),
        statePill(d.state)),
      h('p', { class: 'item-meta' },
        when ? h('span', {}, `Due ${formatDateTime(when)} (${relative(when)})`) : null,
        h('span', {}, `Updated ${relative(d.updated_at)}`)),
      h('p', { class: 'item-text' }, d.excerpt),
      d.reason ? h('p', { class: `reason ${d.state === 'failed' ? 'failed' : ''}` }, h('strong', {}, 'Why: '), sentence(d.reason)) : null,
      status,
      d.attempts ? attempts : null),
    h('div', { class: 'item-actions' }, actions))
}

async function load () {
  const items = await apiAll('/deliveries', { query: { state: ['failed', 'uncertain'], held: true } })
  const holder = document.getElementById('attention')
  if (!items.length) {
    fill(holder, h('div', { class: 'card empty' }, h('strong', {}, 'All clear'), 'Nothing failed, nothing is uncertain, nothing is held.'))
    return
  }
  const focused = document.activeElement?.closest('article')?.id
  fill(holder, items.map(d => deliveryItem(d, () => load().catch(() => {}))))
  if (focused) document.getElementById(focused)?.querySelector('button, a')?.focus()
}

async function main () {
  await load()
  setInterval(() => {
    const busyHere = document.querySelector('dialog[open], details.attempts[open], [aria-busy="true"]')
    if (document.visibilityState === 'visible' && !busyHere) load().catch(() => {})
  }, REFRESH_MS)
}

main().catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
