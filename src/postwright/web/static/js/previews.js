// What a post will look like on each platform: a simple card in that platform's dress.
// Not a pixel copy of any network: enough to see the text, links, tags, media and title as
// the audience will, and to notice when one platform's version needs adjusting.

import { h, platformName, PLATFORM_COLORS } from './ui.js'

// links (with or without a scheme), #tags and @mentions, in one pass
const TOKENS = /(https?:\/\/[^\s<>"']+|www\.[^\s<>"']+|(?<![\w@])[a-z0-9-]+\.(?:com|org|net|io|dev|co|app|social)(?:\/[^\s<>"']*)?|(?<![\w&])#[\p{L}\p{N}_]+|(?<![\w@])@[\w.-]+(?:@[\w.-]+\w)?)/giu

function richText (text) {
  const nodes = []
  let last = 0
  for (const match of text.matchAll(TOKENS)) {
    if (match.index > last) nodes.push(text.slice(last, match.index))
    const token = match[0]
    const kind = token.startsWith('#') ? 'tag' : token.startsWith('@') ? 'mention' : 'link'
    nodes.push(h('span', { class: kind }, token))
    last = match.index + token.length
  }
  if (last < text.length) nodes.push(text.slice(last))
  return nodes
}

function textBlock (text, extraClass = '') {
  if (!text.trim()) return h('p', { class: `preview-text empty-text ${extraClass}` }, 'Nothing written yet')
  return h('p', { class: `preview-text ${extraClass}` }, richText(text))
}

function mediaGrid (media, max) {
  const shown = media.filter(m => m.type !== 'other').slice(0, max ?? 4)
  if (!shown.length) return null
  return h('div', { class: `preview-media n${Math.min(shown.length, 4)}` },
    shown.slice(0, 4).map(m => m.type === 'video'
      ? h('div', { class: 'media-placeholder' }, '▶ ' + m.filename)
      : h('img', { src: m.url, alt: m.alt_text ?? '' })))
}

function initials (name) {
  return (name || '?').replace(/^@/, '').slice(0, 1).toUpperCase()
}

function head (account, { sub, avatarShape } = {}) {
  const name = account.display_name || account.handle
  return h('div', { class: 'preview-head' },
    h('span', { class: `avatar ${avatarShape ?? ''}`, 'aria-hidden': 'true' }, initials(name)),
    h('div', { class: 'preview-who' }, h('strong', {}, name), h('span', {}, sub)))
}

function bar (...items) {
  return h('div', { class: 'preview-bar', 'aria-hidden': 'true' }, items.map(i => h('span', {}, i)))
}

const CARDS = {
  x: (a, text, media) => [
    head(a, { sub: `@${a.handle.replace(/^@/, '')} · now` }),
    textBlock(text), mediaGrid(media, 4),
    bar('↩ 0', '↻ 0', '♡ 0', '↗')
  ],
  bluesky: (a, text, media) => [
    head(a, { sub: `@${a.handle.replace(/^@/, '')} · now` }),
    textBlock(text), mediaGrid(media, 4),
    bar('↩ 0', '↻ 0', '♡ 0', '⋯')
  ],
  mastodon: (a, text, media, options) => [
    head(a, { sub: `@${a.handle.replace(/^@/, '')}` + (options.visibility && options.visibility !== 'public' ? ` · ${options.visibility}` : '') }),
    options.spoiler_text ? h('p', { class: 'preview-text' }, h('strong', {}, 'CW: '), options.spoiler_text) : null,
    textBlock(text), mediaGrid(media, 4),
    bar('↩ 0', '↻ 0', '★ 0', '⋯')
  ],
  threads: (a, text, media) => [
    head(a, { sub: 'now' }),
    textBlock(text), mediaGrid(media, 10),
    bar('♡', '↩', '↻', '➤')
  ],
  linkedin: (a, text, media) => [
    head(a, { sub: 'Now · Public' }),
    textBlock(text), mediaGrid(media, 9),
    bar('Like', 'Comment', 'Repost', 'Send')
  ],
  facebook: (a, text, media) => [
    head(a, { sub: 'Just now · Public' }),
    textBlock(text), mediaGrid(media, 6),
    bar('Like', 'Comment', 'Share')
  ],
  instagram: (a, text, media) => [
    head(a, { sub: '' }),
    mediaGrid(media, 10) ?? h('div', { class: 'ig-square' }, 'Instagram needs an image or a video'),
    h('p', { class: 'preview-text' }, h('strong', {}, a.handle.replace(/^@/, '') + ' '), richText(text))
  ],
  reddit: (a, text, media, options) => [
    h('p', { class: 'rd-sub' }, options.subreddit ? 'r/' + String(options.subreddit).replace(/^\/?r\//, '') : 'r/…', h('span', { class: 'muted' }, ` · u/${a.handle} · now`)),
    h('p', { class: 'rd-title' }, options.title || 'Title'),
    textBlock(text), mediaGrid(media, 1),
    bar('⇧ Vote ⇩', 'Comments', 'Share')
  ],
  sandbox: (a, text, media) => [
    head(a, { sub: 'sandbox · publishes to the local emulator', avatarShape: '' }),
    textBlock(text), mediaGrid(media, 4)
  ]
}

/** One account's preview: its platform's card with the text, media and options it will get. */
export function previewCard ({ account, text, media, options }) {
  const build = CARDS[account.platform] ?? CARDS.sandbox
  return h('article', {
    class: `preview preview-${account.platform}`,
    style: { '--platform': PLATFORM_COLORS[account.platform] ?? '#6b7280' },
    'aria-label': `Preview on ${platformName(account.platform)} for ${account.handle}`
  }, build(account, text, media, options ?? {}))
}
