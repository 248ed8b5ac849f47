// The frame around every page: the menu on narrow screens, and the counts next to
// "Approvals" and "Needs attention", kept fresh while the page is open.

import { api, boot } from './api.js'
import { toast } from './ui.js'

const REFRESH_MS = 30_000

function setupMenu () {
  const toggle = document.querySelector('.menu-toggle')
  const nav = document.getElementById('nav')
  if (!toggle || !nav) return
  const setOpen = open => {
    toggle.setAttribute('aria-expanded', String(open))
    nav.classList.toggle('open', open)
  }
  toggle.addEventListener('click', () => setOpen(toggle.getAttribute('aria-expanded') !== 'true'))
  document.addEventListener('keydown', event => {
    if (event.key === 'Escape' && toggle.getAttribute('aria-expanded') === 'true') {
      setOpen(false)
      toggle.focus()
    }
  })
}

function setupUserMenu () {
  const menu = document.querySelector('.user-menu')
  if (!menu) return
  document.addEventListener('click', event => {
    if (menu.open && !menu.contains(event.target)) menu.open = false
  })
  menu.addEventListener('keydown', event => {
    if (event.key === 'Escape' && menu.open) {
      menu.open = false
      menu.querySelector('summary').focus()
    }
  })
}

function setBadge (name, count, label) {
  for (const badge of document.querySelectorAll(`[data-badge="${name}"]`)) {
    badge.hidden = !count
    badge.textContent = count > 99 ? '99+' : String(count)
    badge.setAttribute('aria-label', `${count} ${label}`)
  }
}

export async function refreshBadges () {
  try {
    const [pending, attention] = await Promise.all([
      api('/posts', { query: { status: 'pending_approval', limit: 1 } }),
      api('/deliveries', { query: { state: ['failed', 'uncertain'], held: true, limit: 1 } })
    ])
    setBadge('approvals', pending.count, pending.count === 1 ? 'post waiting' : 'posts waiting')
    setBadge('attention', attention.count, attention.count === 1 ? 'delivery needs attention' : 'deliveries need attention')
  } catch {
    // the badges are a convenience: a failed refresh leaves the last counts
  }
}

function schedule () {
  setInterval(() => {
    if (document.visibilityState === 'visible') refreshBadges()
  }, REFRESH_MS)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshBadges()
  })
}

/** A message the previous page left for this one ("Scheduled for ..."). */
function showFlash () {
  const message = sessionStorage.getItem('pw.flash')
  if (!message) return
  sessionStorage.removeItem('pw.flash')
  toast(message, { kind: 'success' })
}

setupMenu()
setupUserMenu()
showFlash()
if (boot.user) {
  refreshBadges()
  schedule()
}
