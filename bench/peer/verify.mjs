// verify.mjs — the JS peer: @phala/dcap-qvl's verify() timed on the same quote, collateral and
// time as bench_verify mode (a), measured the same way (warm-up, then 5 repetitions of at least
// seconds/5 each, median µs/verification).
//
//   node verify.mjs --module DIR --quote Q --collateral C --at UNIX_SECONDS [--seconds S]
//
// DIR is the installed package (node_modules/@phala/dcap-qvl); bench/run installs it into a
// temporary folder so that nothing lands in the tree. Prints "status <TcbStatus>",
// "us_per_verify <float>" (wall) and "cpu_us_per_verify <float>"; exits non-zero if the
// verification throws or is not UpToDate.
//
// Per verification the loop runs JSON.parse on the collateral text and then verify(quote,
// collateral, now): dcap-qvl takes the parsed QuoteCollateralV3 object (CRLs and signatures as the
// hex strings of the JSON, issuer chains and TCB info / QE identity as strings) and the time as a
// number of Unix seconds (verify.js: `new Date(nowSecs * 1000)`), so our one-shot path, which
// parses the JSON text itself, is compared with the same work.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

function parseArgs(argv) {
    const opts = { seconds: 2 };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i], val = argv[i + 1];
        if (val === undefined) { throw new Error(`missing value for ${key}`); }
        switch (key) {
        case '--module': opts.module = resolve(val); break;
        case '--quote': opts.quote = val; break;
        case '--collateral': opts.collateral = val; break;
        case '--at': opts.at = Number.parseInt(val, 10); break;
        case '--seconds': opts.seconds = Number.parseFloat(val); break;
        default: throw new Error(`unknown option ${key}`);
        }
    }
    for (const k of ['module', 'quote', 'collateral', 'at']) {
        if (opts[k] === undefined || Number.isNaN(opts[k])) { throw new Error(`--${k} is required`); }
    }
    return opts;
}

const REPS = 5;
const WARMUP_ITERS = 20;

function nowSeconds() {
    return Number(process.hrtime.bigint()) / 1e9; // monotonic, like CLOCK_MONOTONIC
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    // The package is CommonJS ("main": "src/index.js"); load it from the given folder.
    const require = createRequire(join(opts.module, 'package.json'));
    const pkg = require(opts.module);
    const version = require(join(opts.module, 'package.json')).version;
    const quote = new Uint8Array(readFileSync(opts.quote));
    const collateralText = readFileSync(opts.collateral, 'utf8');

    const once = () => pkg.verify(quote, JSON.parse(collateralText), opts.at);

    const first = once();
    console.log(`peer @phala/dcap-qvl ${version} (node ${process.version})`);
    console.log(`status ${first.status}`);
    console.log(`advisory_ids ${JSON.stringify(first.advisory_ids)}`);
    if (first.status !== 'UpToDate') {
        console.error(`peer: expected UpToDate, got ${first.status}`);
        process.exit(1);
    }

    const repSeconds = opts.seconds / REPS;
    const t0 = nowSeconds();
    for (let n = 0; n < WARMUP_ITERS || nowSeconds() - t0 < repSeconds * 0.25; n++) { once(); }
    // Wall time per repetition, and the process's CPU time (user + system, all threads: V8's
    // helper threads are part of the peer's cost) as the steadier figure on a loaded machine.
    const perOp = [], cpuPerOp = [];
    for (let r = 0; r < REPS; r++) {
        let n = 0, elapsed;
        const start = nowSeconds(), cpuStart = process.cpuUsage();
        do {
            if (once().status !== 'UpToDate') { throw new Error('status changed during the run'); }
            n++;
            elapsed = nowSeconds() - start;
        } while (elapsed < repSeconds);
        const cpu = process.cpuUsage(cpuStart);
        perOp.push(elapsed / n * 1e6);
        cpuPerOp.push((cpu.user + cpu.system) / n);
    }
    const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(REPS / 2)];
    console.log(`us_per_verify ${median(perOp).toFixed(2)}`);
    console.log(`cpu_us_per_verify ${median(cpuPerOp).toFixed(2)}`);
    console.log(`verifications_per_s ${(1e6 / median(perOp)).toFixed(0)}`);
}

try {
    main();
} catch (e) {
    let msg = e.message;
    for (let c = e.cause; c; c = c.cause) { msg += `: ${c.message || c}`; }
    console.error(`peer: ${msg}`);
    process.exit(1);
}
