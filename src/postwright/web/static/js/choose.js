// Choosing among the accounts one authorization reached (several Facebook Pages or LinkedIn
// organizations): the OAuth callback sent the browser here with the pending choice's id. The
// accounts it renewed at once are shown ticked and fixed; the others are ticked by the person,
// sent to POST /accounts/connect/{platform}/choose, and the accounts page says what connected.

import './shell.js'
import { api } from './api.js'
import { busy, fill, h, platformMark, platformName, problemText, sentence, toast } from './ui.js'

const form = document.getElementById('choose-form')
const params = new URLSearchParams(location.search)
const platform = params.get('platform') ?? ''
const choiceId = params.get('choice') ?? ''

function option (choice, index) {
  const id = 'choice-' + index
  const detail = `${platformName(platform)} · ${choice.handle}` + (choice.connected ? ' · already connected' : '')
  return h('label', { class: 'account-option', for: id },
    h('input', {
      type: 'checkbox',
      id,
      name: 'external_id',
      value: choice.external_id,
      checked: choice.connected,
      disabled: choice.connected
    }),
    platformMark(platform, { label: false }),
    h('span', { class: 'who' },
      h('strong', {}, choice.display_name || choice.handle),
      h('span', {}, detail)),
    h('span', { class: 'tick', 'aria-hidden': 'true' }, '✓'))
}

/** The choice cannot be made any more (made already, expired, another workspace's). */
function gone (message) {
  fill(form, h('div', { class: 'empty', role: 'alert' },
    h('strong', {}, 'This choice is no longer open'),
    h('p', {}, sentence(message)),
    h('p', {}, h('a', { href: '/accounts' }, 'Back to accounts'))))
}

function isGone (error) {
  return [404, 409].includes(error?.status) || (error?.errors ?? []).some(e => e.field === 'choice_id')
}

async function load () {
  if (!platform || !choiceId) {
    gone('this address names no choice; connect the account again from the accounts page')
    return
  }
  let pending
  try {
    pending = await api(`/accounts/connect/${encodeURIComponent(platform)}/choices/${encodeURIComponent(choiceId)}`)
  } catch (error) {
    if (!isGone(error)) throw error
    gone(problemText(error))
    return
  }
  document.getElementById('choices-legend').textContent = `${platformName(platform)} accounts this authorization reached`
  fill(document.getElementById('choices'), pending.choices.map(option))
  document.getElementById('choose-submit').disabled = false
}

function setupSubmit () {
  const error = document.getElementById('choose-error')
  const submit = document.getElementById('choose-submit')
  form.addEventListener('change', () => { error.hidden = true })
  form.addEventListener('submit', async e => {
    e.preventDefault()
    error.hidden = true
    const boxes = [...form.querySelectorAll('input[name=external_id]:not(:disabled)')]
    const picked = boxes.filter(b => b.checked).map(b => b.value)
    if (!picked.length) {
      error.textContent = 'Tick at least one account to connect, or cancel.'
      error.hidden = false
      boxes[0]?.focus()
      return
    }
    try {
      const result = await busy(submit, () => api(`/accounts/connect/${encodeURIComponent(platform)}/choose`, {
        method: 'POST',
        body: { choice_id: choiceId, external_ids: picked }
      }))
      location.assign('/accounts?' + new URLSearchParams({ connected: platform, n: String(result.accounts.length) }))
    } catch (problem) {
      if (isGone(problem)) {
        gone(problemText(problem))
        return
      }
      error.textContent = problemText(problem)
      error.hidden = false
    }
  })
}

if (form) {
  setupSubmit()
  load().catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
}
