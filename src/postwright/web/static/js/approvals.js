// The approval queue: posts waiting for an approver (GET /posts?status=pending_approval).
// Approvers approve (POST /posts/{id}/approve) or reject with a note (POST .../reject);
// everyone else sees what waits and can edit it.

import './shell.js'
import { api, apiAll, boot } from './api.js'
import { busy, fill, formatDateTime, formDialog, h, platformMark, problemText, relative, toast } from './ui.js'
import { refreshBadges } from './shell.js'

const REFRESH_MS = 15_000
const accounts = new Map()
const members = new Map()

function targetChips (post) {
  const seen = new Set()
  const chips = []
  for (const d of post.deliveries) {
    if (seen.has(d.account_id)) continue
    seen.add(d.account_id)
    const account = accounts.get(d.account_id)
    chips.push(h('span', { class: 'target-chip' }, platformMark(d.platform), account?.handle ?? d.platform))
  }
  return h('div', { class: 'targets' }, chips)
}

function postCard (post) {
  const status = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const done = message => {
    toast(message, { kind: 'success' })
    card.remove()
    refreshBadges()
    if (!document.querySelector('#approvals .item')) showEmpty()
  }
  const fail = error => {
    status.textContent = problemText(error)
    status.hidden = false
  }
  const actions = h('div', { class: 'item-actions' })
  if (boot.can.write) actions.append(h('a', { class: 'button', href: `/compose?post=${post.id}` }, 'Edit'))
  if (boot.can.approve) {
    actions.append(
      h('button', {
        type: 'button',
        class: 'button',
        onclick: async () => {
          const note = await formDialog({
            title: 'Reject this post',
            intro: 'It goes back to its author as a draft, with your note.',
            fields: [{ name: 'note', label: 'What should change?', type: 'textarea' }],
            submitLabel: 'Reject',
            submit: values => api(`/posts/${post.id}/reject`, { method: 'POST', body: { note: values.note || null } })
          })
          if (note) done('Rejected: it went back to its author')
        }
      }, 'Reject…'),
      h('button', {
        type: 'button',
        class: 'button primary',
        onclick: async e => {
          try {
            await busy(e.currentTarget, () => api(`/posts/${post.id}/approve`, { method: 'POST' }))
            done(`Approved: scheduled for ${formatDateTime(post.scheduled_at)}`)
          } catch (error) {
            fail(error)
          }
        }
      }, 'Approve'))
  }
  const author = members.get(post.author_id)
  const card = h('article', { class: 'card card-body item', 'aria-label': 'Post by ' + (author ?? 'unknown') },
    h('span', { class: 'state-pill state-pending_approval' }, h('span', { class: 'state-icon', 'aria-hidden': 'true' }, '⚑'), 'Waiting'),
    h('div', { class: 'item-main' },
      targetChips(post),
      h('p', { class: 'item-meta' },
        h('span', {}, post.scheduled_at ? `For ${formatDateTime(post.scheduled_at)} (${relative(post.scheduled_at)})` : 'No time yet'),
        author ? h('span', {}, 'By ' + author) : null,
        post.recurrence ? h('span', {}, 'Repeats: ' + post.recurrence) : null),
      h('p', { class: 'item-text' }, post.text || '(no shared text)'),
      post.deliveries.some(d => d.text !== null)
        ? h('p', { class: 'muted small-text' }, 'Some accounts have their own text; open the post to see every version.')
        : null,
      post.notes ? h('p', { class: 'reason' }, h('strong', {}, 'Notes: '), post.notes) : null,
      status),
    actions)
  return card
}

function showEmpty () {
  fill(document.getElementById('approvals'), h('div', { class: 'card empty' },
    h('strong', {}, 'Nothing waits for approval'),
    boot.can.write ? ['Posts written with “Ask an approver” appear here. ', h('a', { href: '/compose' }, 'Write one')] : null))
}

async function load () {
  const posts = await apiAll('/posts', { query: { status: 'pending_approval', sort: 'scheduled_at' } })
  if (!posts.length) return showEmpty()
  fill(document.getElementById('approvals'), posts.map(postCard))
}

async function main () {
  const [list, people] = await Promise.all([api('/accounts'), api('/members').catch(() => [])])
  for (const a of list) accounts.set(a.id, a)
  for (const m of people) members.set(m.user_id, m.email)
  await load()
  setInterval(() => {
    // never pull a card from under someone reading it or typing a note
    if (document.visibilityState === 'visible' && !document.querySelector('dialog[open]')) load().catch(() => {})
  }, REFRESH_MS)
}

main().catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
