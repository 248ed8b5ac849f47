// Connecting (or reconnecting) an account: POST /accounts/connect/{platform}.
// OAuth platforms answer with an `authorization_url` to send the person to; Mastodon first
// needs the server's address; Bluesky connects at once with a handle and an app password.

import { api } from './api.js'
import { formDialog } from './ui.js'

/**
 * Start connecting `platform`. Resolves with the account when it connected at once
 * (Bluesky), never resolves when the browser is sent to the platform, and resolves with
 * null when the person cancelled. Throws the API's error (for example "not configured").
 */
export async function connectAccount (platform, { handle = '' } = {}) {
  if (platform === 'bluesky') {
    return formDialog({
      title: 'Connect a Bluesky account',
      intro: 'Use an app password (Settings → Privacy and security → App passwords), not your main password.',
      fields: [
        { name: 'handle', label: 'Handle', required: true, placeholder: 'you.bsky.social', value: handle },
        { name: 'app_password', label: 'App password', type: 'password', required: true, autocomplete: 'off' },
        { name: 'service', label: 'Server (PDS)', placeholder: 'https://bsky.social', help: 'Leave empty for bsky.social.' }
      ],
      submitLabel: 'Connect',
      submit: v => api('/accounts/connect/bluesky', {
        method: 'POST',
        body: { handle: v.handle, app_password: v.app_password, ...(v.service ? { service: v.service } : {}) }
      })
    })
  }
  if (platform === 'mastodon') {
    const started = await formDialog({
      title: 'Connect a Mastodon account',
      intro: 'postwright registers itself on your server, then sends you there to allow it.',
      fields: [{ name: 'instance', label: 'Your server', required: true, placeholder: 'mastodon.social', value: handle.includes('@') ? handle.split('@').pop() : '' }],
      submitLabel: 'Continue',
      submit: v => api('/accounts/connect/mastodon', { method: 'POST', body: { instance: v.instance } })
    })
    if (!started) return null
    return go(started)
  }
  return go(await api(`/accounts/connect/${platform}`, { method: 'POST', body: {} }))
}

function go (started) {
  if (!started?.authorization_url) throw new Error('the platform answered without an address to continue at')
  location.assign(started.authorization_url)
  return new Promise(() => {}) // the page is leaving
}
