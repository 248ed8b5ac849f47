// Builds the front-end packages the web app uses into src/postwright/web/static/vendor/.
//
//   cd frontend && npm ci && npm run build
//
// The output is committed, so installing postwright needs neither Node nor a build step; run
// this again after changing package.json (and commit what it writes).
import { build } from 'esbuild'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'src', 'postwright', 'web', 'static', 'vendor')

await mkdir(join(out, 'licenses'), { recursive: true })
const js = await build({
  entryPoints: [join(here, 'src', 'fullcalendar.js')],
  outfile: join(out, 'fullcalendar.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'info'
})
const css = await build({
  entryPoints: [join(here, 'src', 'fullcalendar.css')],
  outfile: join(out, 'fullcalendar.css'),
  bundle: true,
  minify: true,
  metafile: true,
  logLevel: 'info'
})

// every package that ended up in the bundles: its version in a banner, its license beside
const bundled = new Set()
for (const meta of [js.metafile, css.metafile]) {
  for (const input of Object.keys(meta.inputs)) {
    const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)
    if (match) bundled.add(match.at(-1).slice('node_modules/'.length, -1))
  }
}
const versions = {}
for (const name of [...bundled].sort()) {
  const dir = join(here, 'node_modules', name)
  versions[name] = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).version
  const license = await licenseFile(dir)
  await copyFile(join(dir, license), join(out, 'licenses', `${name.replace('/', '__')}.txt`))
}
const banner = `/* Built by frontend/build.mjs from ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(', ')} (MIT licenses in licenses/). Do not edit. */\n`
for (const file of ['fullcalendar.js', 'fullcalendar.css']) {
  const path = join(out, file)
  await writeFile(path, banner + await readFile(path, 'utf8'))
}
await writeFile(join(out, 'VERSIONS.json'), JSON.stringify(versions, null, 2) + '\n')

async function licenseFile (dir) {
  for (const candidate of ['LICENSE.md', 'LICENSE', 'LICENSE.txt', 'license']) {
    try {
      await readFile(join(dir, candidate))
      return candidate
    } catch {}
  }
  throw new Error(`no license file in ${dir}`)
}
