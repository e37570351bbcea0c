// peer.mjs — the differential peer: @phala/dcap-qvl's QuoteVerifier with a custom root CA.
//
//   node peer.mjs MODULE_DIR CASE_DIR...
//
// For each CASE_DIR (quote.bin, collateral.json, root.der, at.txt from differential-gen) prints
// one line "<case> ok <TcbStatus>" or "<case> err <message>". dcap-qvl 0.3.9 trusts Intel's
// root by default; QuoteVerifier.newWithRootCa(DER) (src/verify.js) verifies every chain and CRL
// against the given root instead, so the generated test PKI can be used.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

const moduleDir = resolve(process.argv[2]);
const require = createRequire(join(moduleDir, 'package.json'));
const pkg = require(moduleDir);

for (const dir of process.argv.slice(3)) {
    const name = basename(dir);
    try {
        const quote = new Uint8Array(readFileSync(join(dir, 'quote.bin')));
        const collateral = JSON.parse(readFileSync(join(dir, 'collateral.json'), 'utf8'));
        const root = readFileSync(join(dir, 'root.der'));
        const at = Number.parseInt(readFileSync(join(dir, 'at.txt'), 'utf8'), 10);
        const report = pkg.QuoteVerifier.newWithRootCa(root).verify(quote, collateral, at);
        console.log(`${name} ok ${report.status}`);
    } catch (e) {
        const msg = (e && e.message ? e.message : String(e)).replace(/\s+/g, ' ');
        console.log(`${name} err ${msg}`);
    }
}
