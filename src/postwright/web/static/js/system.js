// For admins: the workspace's delivery queue (GET /queue) and the engine's periodic jobs
// (GET /system/jobs), refreshed while the page is open; pause and resume the workspace.

import './shell.js'
import { api, boot } from './api.js'
import { busy, fill, formatDateTime, h, platformMark, problemText, relative, sentence, STATES, toast } from './ui.js'

const REFRESH_MS = 10_000
const ORDER = ['scheduled', 'claimed', 'publishing', 'retry_wait', 'uncertain', 'failed', 'pending_approval', 'draft', 'published', 'cancelled']

function duration (seconds) {
  if (seconds < 1) return 'none'
  if (seconds < 90) return `${Math.round(seconds)} s`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

function renderQueue (q) {
  fill(document.getElementById('queue-meta'),
    `· ${q.workers} ${q.workers === 1 ? 'worker' : 'workers'} running · oldest due delivery waiting ${duration(q.oldest_due_lag_s)} · as of ${new Date(q.as_of).toLocaleTimeString()}`)
  fill(document.getElementById('counts'), ORDER.filter(s => s in q.counts).map(state => {
    const info = STATES[state]
    return h('div', { class: 'card stat' },
      h('div', { class: 'stat-value' }, String(q.counts[state])),
      h('div', { class: `stat-label state-${info.group}` }, h('span', { class: 'state-pill state-' + info.group }, h('span', { class: 'state-icon', 'aria-hidden': 'true' }, info.icon), state === 'claimed' ? 'Claimed' : info.label)))
  }))
  const paused = document.getElementById('paused')
  const reasons = []
  if (q.paused.everything) reasons.push('an operator paused the whole engine')
  if (q.paused.platforms.length) reasons.push('an operator paused ' + q.paused.platforms.join(', '))
  if (q.paused.workspace) reasons.push('this workspace is paused')
  paused.hidden = !reasons.length
  paused.textContent = reasons.length ? `Publishing is on hold: ${reasons.join('; ')}.` : ''

  const toggle = document.getElementById('pause-toggle')
  toggle.hidden = false
  toggle.textContent = q.paused.workspace ? 'Resume publishing' : 'Pause publishing'
  toggle.className = q.paused.workspace ? 'button primary' : 'button'
  toggle.dataset.paused = String(q.paused.workspace)

  const deferrals = document.getElementById('deferrals')
  if (!q.deferrals.length) {
    fill(deferrals, h('p', { class: 'muted' }, 'Nothing is held: every due delivery can go.'))
  } else {
    fill(deferrals, h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Account', 'Held', 'Next may go', 'Why'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, q.deferrals.map(d => h('tr', {},
        h('td', {}, h('span', { class: 'row' }, platformMark(d.platform), d.handle)),
        h('td', { class: 'num' }, String(d.count)),
        h('td', {}, d.next_at ? `${formatDateTime(d.next_at)} (${relative(d.next_at)})` : '—'),
        h('td', {}, d.reason ? sentence(d.reason) : '—')))))))
  }
}

function renderJobs (jobs) {
  fill(document.getElementById('jobs'), h('table', {},
    h('thead', {}, h('tr', {}, ['Job', 'Every', 'Last run', 'Outcome', 'Next run'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, jobs.map(j => h('tr', {},
      h('td', {}, h('code', {}, j.name), j.running ? h('span', { class: 'state-pill state-publishing' }, 'running') : null),
      h('td', {}, duration(j.interval_s)),
      h('td', {}, j.last_finished_at ? relative(j.last_finished_at) : (j.last_started_at ? 'started ' + relative(j.last_started_at) : 'never')),
      h('td', {}, j.last_outcome === 'error'
        ? h('span', { class: 'field-error' }, j.last_error ?? 'error')
        : j.last_outcome
          ? h('span', {}, 'ok', j.last_result ? h('span', { class: 'muted' }, ' · ' + Object.entries(j.last_result).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ')) : null)
          : '—'),
      h('td', {}, relative(j.next_run_at)))))))
}

async function load () {
  const [queue, jobs] = await Promise.all([api('/queue'), api('/system/jobs')])
  renderQueue(queue)
  renderJobs(jobs)
}

function setupPause () {
  const toggle = document.getElementById('pause-toggle')
  toggle.addEventListener('click', async () => {
    const paused = toggle.dataset.paused === 'true'
    try {
      await busy(toggle, () => api(paused ? '/workspace/resume' : '/workspace/pause', { method: 'POST' }))
      toast(paused ? 'Publishing resumed' : 'Publishing paused: nothing goes out until you resume', { kind: 'success' })
      await load()
    } catch (error) {
      toast(problemText(error), { kind: 'error' })
    }
  })
}

if (boot.can.manage && document.getElementById('counts')) {
  setupPause()
  load().catch(error => toast(problemText(error), { kind: 'error', timeout: 0 }))
  setInterval(() => { if (document.visibilityState === 'visible') load().catch(() => {}) }, REFRESH_MS)
}
