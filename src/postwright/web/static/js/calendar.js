// The calendar: every delivery as an event, coloured by platform and marked by state.
//
// Events come from GET /api/v1/calendar (one per delivery). Dragging one moves the whole post
// when it is a single, unsent post whose deliveries share one time (PATCH /posts/{id}), and
// that delivery alone otherwise (PATCH /deliveries/{id}). The server decides: when it refuses,
// the event goes back and its reason shows where it was dropped. The calendar refreshes itself
// every few seconds while the page is visible, so state changes appear without reloading.

import './shell.js'
import { api, apiAll, boot } from './api.js'
import {
  Calendar, dayGridPlugin, interactionPlugin, listPlugin, themePlugin, timeGridPlugin
} from '/static/vendor/fullcalendar.js'
import {
  browserTimeZone, busy, clearErrors, fill, formatDateTime, h, instantFromWall, modal,
  placeErrors, platformMark, problemText, showError, platformName, PLATFORM_COLORS, POST_STATUS_LABELS, sentence,
  STATE_GROUPS, stateInfo, statePill, timeZones, toast, wallTime
} from './ui.js'
import { refreshBadges } from './shell.js'

const REFRESH_MS = 10_000
const NARROW = window.matchMedia('(max-width: 700px)')
// only these can still be moved as a whole post; anything else moves one delivery
const POST_MOVABLE = new Set(['draft', 'pending_approval', 'scheduled'])
const CANCELLABLE = new Set(['draft', 'pending_approval', 'scheduled', 'claimed', 'retry_wait', 'failed'])

const stored = (key, fallback) => localStorage.getItem('pw.' + key) ?? fallback
const store = (key, value) => localStorage.setItem('pw.' + key, value)

const params = new URLSearchParams(location.search)
const view = {
  timeZone: stored('timeZone', browserTimeZone),
  account: params.get('account') ?? '',
  platform: params.get('platform') ?? '',
  campaign: params.get('campaign') ?? '',
  hidden: new Set(JSON.parse(stored('hiddenStates', '[]'))),
  dragging: false,
  dialogOpen: false,
  loadedAt: null
}
const campaignsById = new Map()
const accountsById = new Map()

// -- filters and legend ------------------------------------------------------------------

function shownStates () {
  if (!view.hidden.size) return undefined // all of them: no filter
  return STATE_GROUPS.filter(g => !view.hidden.has(g.id)).flatMap(g => g.states)
}

function rememberFilters () {
  const query = new URLSearchParams()
  for (const name of ['account', 'platform', 'campaign']) if (view[name]) query.set(name, view[name])
  history.replaceState(null, '', location.pathname + (query.size ? '?' + query : ''))
}

function buildLegend (calendar) {
  const holder = document.getElementById('state-legend')
  fill(holder, STATE_GROUPS.map(group => {
    const info = stateInfo(group.states[0])
    const chip = h('button', {
      type: 'button',
      class: `legend-chip state-${group.id}`,
      'aria-pressed': String(!view.hidden.has(group.id)),
      onclick: () => {
        if (view.hidden.has(group.id)) view.hidden.delete(group.id)
        else view.hidden.add(group.id)
        chip.setAttribute('aria-pressed', String(!view.hidden.has(group.id)))
        store('hiddenStates', JSON.stringify([...view.hidden]))
        calendar.refetchEvents()
      }
    }, h('span', { class: 'state-icon', 'aria-hidden': 'true' }, info.icon), group.label)
    return chip
  }))
}

async function buildFilters (calendar) {
  const [accounts, campaigns] = await Promise.all([
    api('/accounts'),
    apiAll('/campaigns').catch(() => [])
  ])
  for (const a of accounts) accountsById.set(a.id, a)
  for (const c of campaigns) campaignsById.set(c.id, c)

  const account = document.getElementById('filter-account')
  for (const a of accounts) account.append(h('option', { value: a.id }, `${a.display_name || a.handle} (${platformName(a.platform)})`))
  const platforms = [...new Set(accounts.map(a => a.platform))].sort()
  const platform = document.getElementById('filter-platform')
  for (const p of platforms) platform.append(h('option', { value: p }, platformName(p)))
  const campaign = document.getElementById('filter-campaign')
  for (const c of campaigns) campaign.append(h('option', { value: c.id }, c.name))

  fill(document.getElementById('platform-legend'), platforms.map(p =>
    h('span', {}, h('span', { class: 'swatch', style: { '--platform': PLATFORM_COLORS[p] ?? '#6b7280' } }), platformName(p))))

  for (const [name, select] of [['account', account], ['platform', platform], ['campaign', campaign]]) {
    select.value = view[name]
    if (select.value !== view[name]) view[name] = '' // a stale id from an old link
    select.addEventListener('change', () => {
      view[name] = select.value
      rememberFilters()
      calendar.refetchEvents()
    })
  }
}

function buildTimeZone (calendar) {
  const input = document.getElementById('time-zone')
  const zones = timeZones()
  fill(document.getElementById('time-zones'), zones.map(z => h('option', { value: z })))
  input.value = view.timeZone
  input.addEventListener('change', () => {
    clearErrors(input.parentElement)
    const zone = input.value.trim()
    if (!zones.includes(zone) && zone !== 'UTC') {
      input.setAttribute('aria-invalid', 'true')
      input.parentElement.append(h('p', { class: 'field-error' }, 'Pick a time zone from the list, like Europe/Paris.'))
      return
    }
    view.timeZone = zone
    store('timeZone', zone)
    calendar.setOption('timeZone', zone)
  })
}

// -- events ------------------------------------------------------------------------------

async function fetchEvents (info) {
  const events = await api('/calendar', {
    query: {
      start: info.startStr,
      end: info.endStr,
      timeZone: view.timeZone,
      account_id: view.account,
      platform: view.platform,
      campaign_id: view.campaign,
      state: shownStates()
    }
  })
  view.loadedAt = new Date()
  setStatus(events.length)
  return events.map(e => {
    const group = stateInfo(e.extendedProps.state).group
    return {
      id: e.id,
      title: e.title,
      start: e.start,
      allDay: false,
      editable: e.editable,
      color: e.color,
      className: `pw-event state-${group} raw-state-${e.extendedProps.state} platform-${e.extendedProps.platform}`,
      extendedProps: e.extendedProps
    }
  })
}

function setStatus (count) {
  const status = document.getElementById('calendar-status')
  const when = view.loadedAt ? view.loadedAt.toLocaleTimeString() : ''
  status.textContent = `${count} ${count === 1 ? 'delivery' : 'deliveries'} shown · times in ${view.timeZone} · refreshed ${when}, every ${REFRESH_MS / 1000} s`
  document.getElementById('live-dot').classList.remove('stale')
}

function eventContent (arg) {
  const p = arg.event.extendedProps
  const info = stateInfo(p.state)
  const type = arg.view.type
  const label = h('span', { class: 'sr-only' }, `${info.label}, ${platformName(p.platform)}, ${p.handle}: `)
  const icon = h('span', { class: 'ev-icon', 'aria-hidden': 'true' }, info.icon)
  const handle = h('span', { class: 'ev-handle', 'aria-hidden': 'true' }, p.handle)
  const title = h('span', { class: 'ev-title' }, arg.event.title)
  const time = arg.timeText ? h('span', { class: 'ev-time' }, arg.timeText) : null
  if (type.startsWith('list')) {
    return { domNodes: [h('div', { class: 'ev ev-list' }, label, time, platformMark(p.platform, { label: false }), handle, title, statePill(p.state))] }
  }
  if (type.startsWith('timeGrid')) {
    return { domNodes: [h('div', { class: 'ev ev-block' }, label, h('div', { class: 'ev-line' }, icon, time, handle), title)] }
  }
  return { domNodes: [h('div', { class: 'ev' }, label, icon, time, title)] }
}

function eventDidMount (arg) {
  const p = arg.event.extendedProps
  arg.el.style.setProperty('--platform', PLATFORM_COLORS[p.platform] ?? arg.event.backgroundColor ?? '#6b7280')
  arg.el.title = `${stateInfo(p.state).label} · ${platformName(p.platform)} ${p.handle}\n${arg.event.title}` +
    (p.last_error ? `\n${p.last_error}` : '')
}

// -- moving ------------------------------------------------------------------------------

/**
 * Move the delivery `props` from `from` to `to` (Dates). Returns a sentence saying what moved.
 * Throws the API's error when the move is refused.
 */
async function move (props, from, to) {
  const post = await api(`/posts/${props.post_id}`)
  const times = new Set(post.deliveries.map(d => d.scheduled_at && new Date(d.scheduled_at).getTime()))
  const wholePost = !post.recurrence && times.size === 1 &&
    post.deliveries.every(d => POST_MOVABLE.has(d.state)) && post.scheduled_at
  if (wholePost) {
    const start = new Date(new Date(post.scheduled_at).getTime() + (to.getTime() - from.getTime()))
    const updated = await api(`/posts/${post.id}`, {
      method: 'PATCH',
      body: { local_time: wallTime(start, post.timezone), timezone: post.timezone }
    })
    const again = post.status === 'scheduled' && updated.status === 'pending_approval'
    const count = updated.deliveries.length
    return `Moved the post (${count} ${count === 1 ? 'account' : 'accounts'}) to ${formatDateTime(updated.scheduled_at, view.timeZone)}` +
      (again ? '; it waits for approval again' : '')
  }
  const moved = await api(`/deliveries/${props.delivery_id}`, {
    method: 'PATCH',
    body: { scheduled_at: to.toISOString() }
  })
  return `Moved the ${platformName(props.platform)} delivery to ${formatDateTime(moved.scheduled_at, view.timeZone)}`
}

let dropError = null

/** The API's reason for refusing a move, in a bubble at the point (viewport x, y) of the drop. */
function showDropError (calendarCard, point, message) {
  dropError?.remove()
  const card = calendarCard.getBoundingClientRect()
  const close = () => { dropError?.remove(); dropError = null }
  dropError = h('div', { class: 'drop-error', role: 'alert' },
    h('strong', {}, 'Not moved. '), message,
    h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: close }, '×'))
  const left = Math.max(8, Math.min(point.x - card.left - 24, card.width - 370))
  dropError.style.setProperty('left', `${left}px`)
  dropError.style.setProperty('top', `${point.y - card.top + 14}px`)
  calendarCard.append(dropError)
  setTimeout(close, 12_000)
}

// -- details -----------------------------------------------------------------------------

async function openDetails (event, calendar) {
  const p = event.extendedProps
  view.dialogOpen = true
  let post = null
  try {
    post = await api(`/posts/${p.post_id}`)
  } catch (error) {
    toast(problemText(error), { kind: 'error' })
  }
  const delivery = post?.deliveries.find(d => d.id === p.delivery_id)
  const text = delivery?.text ?? post?.text ?? event.title
  const campaign = p.campaign_id ? campaignsById.get(p.campaign_id)?.name : null
  const refresh = () => { calendar.refetchEvents(); refreshBadges() }

  await modal({
    title: `${platformName(p.platform)} · ${p.handle}`,
    className: 'wide',
    initialFocus: '.dialog-head button',
    build: close => {
      const actions = h('div', { class: 'dialog-actions' })
      const act = (label, cls, work) => h('button', {
        type: 'button',
        class: `button ${cls}`,
        onclick: async e => {
          try {
            const message = await busy(e.currentTarget, work)
            toast(message, { kind: 'success' })
            refresh()
            close()
          } catch (error) {
            toast(problemText(error), { kind: 'error' })
          }
        }
      }, label)

      if (boot.can.write && post && !['published', 'cancelled'].includes(post.status)) {
        actions.append(h('a', { class: 'button', href: `/compose?post=${post.id}` }, 'Edit post'))
      }
      if (boot.can.approve && p.state === 'pending_approval') {
        actions.append(act('Reject', '', async () => {
          await api(`/posts/${p.post_id}/reject`, { method: 'POST', body: {} })
          return 'Rejected: the post went back to its author as a draft'
        }))
        actions.append(act('Approve', 'primary', async () => {
          await api(`/posts/${p.post_id}/approve`, { method: 'POST' })
          return 'Approved: it will be published as scheduled'
        }))
      }
      if (boot.can.write && p.state === 'failed') {
        actions.append(act('Retry now', 'primary', async () => {
          await api(`/deliveries/${p.delivery_id}/retry`, { method: 'POST' })
          return 'Retrying now'
        }))
      }
      if (boot.can.write && CANCELLABLE.has(p.state)) {
        actions.append(act('Cancel this delivery', 'danger-outline', async () => {
          await api(`/deliveries/${p.delivery_id}/cancel`, { method: 'POST' })
          return `Cancelled the ${platformName(p.platform)} delivery`
        }))
      }

      const body = h('div', { class: 'dialog-body' },
        h('div', { class: 'row' }, statePill(p.state), post ? h('span', { class: 'muted small-text' }, 'Post: ' + (POST_STATUS_LABELS[post.status] ?? post.status)) : null),
        h('dl', { class: 'event-facts' },
          h('dt', {}, 'When'), h('dd', {}, formatDateTime(event.start, view.timeZone, { withZone: true }),
            post && post.timezone !== view.timeZone ? h('span', { class: 'muted' }, ` (${formatDateTime(event.start, post.timezone, { withZone: true })}, as written)`) : null),
          h('dt', {}, 'Account'), h('dd', { class: 'row' }, platformMark(p.platform), p.handle),
          campaign ? [h('dt', {}, 'Campaign'), h('dd', {}, campaign)] : null,
          post?.recurrence ? [h('dt', {}, 'Repeats'), h('dd', {}, h('code', {}, post.recurrence))] : null,
          delivery?.attempts ? [h('dt', {}, 'Attempts'), h('dd', {}, String(delivery.attempts))] : null,
          p.last_error ? [h('dt', {}, 'Last error'), h('dd', {}, sentence(p.last_error))] : null,
          p.permalink ? [h('dt', {}, 'On the platform'), h('dd', {}, h('a', { href: p.permalink, target: '_blank', rel: 'noopener noreferrer' }, p.permalink))] : null),
        h('div', { class: 'quote' }, text || '(no text)'),
        ['failed', 'uncertain'].includes(p.state) ? h('p', { class: 'small-text' }, h('a', { href: '/attention' }, 'See it in Needs attention')) : null,
        boot.can.write && event.startEditable ? moveForm(event, close) : null,
        actions)
      return body
    }
  })
  view.dialogOpen = false
}

/** Moving without a mouse: a date-time field in the calendar's time zone. */
function moveForm (event, close) {
  const id = 'move-' + event.id
  const input = h('input', { id, type: 'datetime-local', value: wallTime(event.start, view.timeZone).slice(0, 16), step: 60 })
  const button = h('button', { type: 'submit', class: 'button' }, 'Move')
  const form = h('form', { class: 'move-form' },
    h('div', { class: 'field' }, h('label', { for: id }, `Move to (${view.timeZone})`), input),
    button)
  form.addEventListener('submit', async e => {
    e.preventDefault()
    clearErrors(form)
    if (!input.value) return
    const to = instantFromWall(input.value, view.timeZone)
    try {
      const message = await busy(button, () => move(event.extendedProps, event.start, to))
      toast(message, { kind: 'success' })
      close()
    } catch (error) {
      for (const message of placeErrors(error, () => input)) showError(input, sentence(message))
    }
  })
  return form
}

// -- the calendar ------------------------------------------------------------------------

function main () {
  const el = document.getElementById('calendar')
  const card = el.closest('.calendar-card')
  const narrow = NARROW.matches
  const calendar = new Calendar(el, {
    plugins: [dayGridPlugin, timeGridPlugin, listPlugin, interactionPlugin, themePlugin],
    timeZone: view.timeZone,
    initialView: narrow ? 'listWeek' : stored('view', 'dayGridMonth'),
    headerToolbar: narrow
      ? { start: 'prev,next', center: 'title', end: 'today' }
      : { start: 'prev,next today', center: 'title', end: 'dayGridMonth,timeGridWeek,timeGridDay,listWeek' },
    footerToolbar: narrow ? { center: 'dayGridMonth,timeGridWeek,timeGridDay,listWeek' } : false,
    height: 'auto',
    scrollTime: '07:00:00',
    nowIndicator: true,
    dayMaxEvents: 4,
    editable: boot.can.write,
    eventDurationEditable: false,
    eventInteractive: true,
    eventTimeFormat: { hour: 'numeric', minute: '2-digit' },
    noEventsContent: 'Nothing scheduled in this period.',
    events: fetchEvents,
    eventContent,
    eventClass: arg => arg.view.type.startsWith('list') ? 'pw-in-list' : 'pw-in-grid',
    eventDidMount,
    eventClick: info => {
      info.jsEvent?.preventDefault()
      openDetails(info.event, calendar)
    },
    eventDragStart: () => {
      view.dragging = true
      dropError?.remove()
    },
    eventDragStop: () => { view.dragging = false },
    eventDrop: async info => {
      view.dragging = false
      const box = info.el?.getBoundingClientRect()
      const point = info.jsEvent?.clientX !== undefined
        ? { x: info.jsEvent.clientX, y: info.jsEvent.clientY }
        : { x: box?.left ?? 0, y: box?.bottom ?? 0 }
      try {
        toast(await move(info.event.extendedProps, info.oldEvent.start, info.event.start), { kind: 'success' })
      } catch (error) {
        info.revert()
        showDropError(card, point, problemText(error))
      } finally {
        calendar.refetchEvents()
      }
    },
    datesSet: info => {
      dropError?.remove()
      if (!narrow) store('view', info.view.type)
      // a day's 24 hours scroll inside a fixed height; months and lists grow with their content
      const height = info.view.type.startsWith('timeGrid') ? Math.max(520, Math.round(window.innerHeight * 0.78)) : 'auto'
      if (calendar.getOption('height') !== height) calendar.setOption('height', height)
    },
    loading: isLoading => { if (isLoading) document.getElementById('live-dot').classList.add('stale') }
  })
  calendar.render()
  if (narrow) document.getElementById('filters-panel').open = false
  buildLegend(calendar)
  buildTimeZone(calendar)
  buildFilters(calendar).catch(error => toast(problemText(error), { kind: 'error' }))

  setInterval(() => {
    if (document.visibilityState === 'visible' && !view.dragging && !view.dialogOpen) calendar.refetchEvents()
  }, REFRESH_MS)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') calendar.refetchEvents()
  })
  window.postwrightCalendar = calendar // for the browser tests and the curious
}

main()
