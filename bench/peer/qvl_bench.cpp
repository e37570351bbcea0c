// qvl_bench.cpp — Intel's Quote Verification Library (SGX-TDX-DCAP-QuoteVerificationLibrary, the
// C API of Src/AttestationLibrary/include/SgxEcdsaAttestation/QuoteVerification.h) timed on the same
// quote, collateral and time as bench_verify, measured the same way (warm-up, then 5 repetitions of
// at least seconds/5 each; the median repetition, wall clock and the thread's CPU time). A bench
// peer only: built by bench/peer/build-qvl against the library, never by the project's build.
//
//   qvl_bench --quote Q --collateral C --root ROOT_PEM --at UNIX_SECONDS
//             [--mode once|full|pck-quote|quote|all] [--seconds S] [--kv] [--iters N]
//
// The collateral is dcap-qvl's QuoteCollateralV3 JSON (what bench_verify and the JS peer read). The
// QVL takes Intel PCS's documents, so each verification turns the JSON into them the way a user of
// the library would: the signed TCB info is {"tcbInfo":<tcb_info>,"signature":"<hex>"}, the QE
// identity {"enclaveIdentity":<qe_identity>,"signature":"<hex>"}, the CRLs stay hex DER (which the
// QVL accepts), and the PCK chain comes out of the quote (sgxAttestationGetQECertificationData,
// type 5). ROOT_PEM is the trust anchor (fixtures/real/intel-sgx-root-ca.pem), read once.
//
// Modes (each operation's every status must be STATUS_OK, else the program exits 1 and says which):
//   full       from bytes each time: parse the collateral JSON (rapidjson, the QVL's own parser),
//              extract the PCK chain from the quote, then sgxAttestationVerifyPCKCertificate
//              (root CRL + PCK CRL), sgxAttestationVerifyTCBInfo, sgxAttestationVerifyEnclaveIdentity
//              and sgxAttestationVerifyQuote: the QVL's full verification (our (a))
//   pck-quote  collateral (TCB info, QE identity) verified once; per operation the PCK chain of the
//              quote against the CRLs, then the quote: what a new quote costs (like our (b), which also
//              verifies the PCK leaf)
//   quote      collateral and PCK chain verified once; per operation sgxAttestationVerifyQuote only
//              (the QVL's API has no parsed-collateral handle: it re-parses the PCK CRL, the TCB
//              info and the QE identity inside every call)
//   once       one full verification, no timing (a cold process: bench/run times this)
//   all        full, pck-quote and quote (default)
// --iters N runs one mode (full, pck-quote or quote) N times inside measured_loop(), after a warm-up
// of 5, untimed: `valgrind --tool=callgrind --toggle-collect=measured_loop qvl_bench ... --iters N`
// counts the instructions of exactly N operations, as bench/run does for bench_verify.
#include <SgxEcdsaAttestation/QuoteVerification.h>

#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string read_file(const char *path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) { throw Failure(std::string("cannot open ") + path + ": " + std::strerror(errno)); }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) { throw Failure(std::string("cannot read ") + path); }
    return ss.str();
}

void check(const char *what, Status st)
{
    if (st != STATUS_OK) {
        throw Failure(std::string(what) + " returned status " + std::to_string(static_cast<int>(st)) +
                      " (expected STATUS_OK = 0)");
    }
}

// The documents the QVL takes, built from the QuoteCollateralV3 JSON.
struct Collateral {
    std::string root_ca_crl, pck_crl, pck_crl_issuer_chain;
    std::string tcb_info_signed, tcb_info_issuer_chain;
    std::string qe_identity_signed, qe_identity_issuer_chain;
};

std::string field(const rapidjson::Document &doc, const char *name)
{
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) {
        throw Failure(std::string("collateral: missing string field ") + name);
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

Collateral parse_collateral(const std::string &text)
{
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) { throw Failure("collateral: not a JSON object"); }
    Collateral c;
    c.root_ca_crl = field(doc, "root_ca_crl");
    c.pck_crl = field(doc, "pck_crl");
    c.pck_crl_issuer_chain = field(doc, "pck_crl_issuer_chain");
    c.tcb_info_issuer_chain = field(doc, "tcb_info_issuer_chain");
    c.qe_identity_issuer_chain = field(doc, "qe_identity_issuer_chain");
    c.tcb_info_signed = "{\"tcbInfo\":" + field(doc, "tcb_info") + ",\"signature\":\"" +
                        field(doc, "tcb_info_signature") + "\"}";
    c.qe_identity_signed = "{\"enclaveIdentity\":" + field(doc, "qe_identity") + ",\"signature\":\"" +
                           field(doc, "qe_identity_signature") + "\"}";
    return c;
}

struct PckChain {
    std::string chain; // leaf, PCK Platform/Processor CA, root (as in the quote)
    std::string leaf;  // the first certificate
};

PckChain pck_chain_of(const std::vector<uint8_t> &quote)
{
    uint32_t size = 0;
    check("sgxAttestationGetQECertificationDataSize",
          sgxAttestationGetQECertificationDataSize(quote.data(), static_cast<uint32_t>(quote.size()), &size));
    std::vector<uint8_t> data(size);
    uint16_t type = 0;
    check("sgxAttestationGetQECertificationData",
          sgxAttestationGetQECertificationData(quote.data(), static_cast<uint32_t>(quote.size()), size,
                                               data.data(), &type));
    if (type != 5) { throw Failure("quote: certification data type " + std::to_string(type) + ", not 5 (PCK chain)"); }
    PckChain p;
    p.chain.assign(data.begin(), data.end());
    p.chain = p.chain.c_str(); // the chain may end with NULs
    static const char k_end[] = "-----END CERTIFICATE-----";
    const auto end = p.chain.find(k_end);
    if (end == std::string::npos) { throw Failure("quote: no PEM certificate in the certification data"); }
    p.leaf = p.chain.substr(0, end + sizeof k_end - 1) + "\n";
    return p;
}

struct Inputs {
    std::vector<uint8_t> quote;
    std::string collateral_text;
    std::string root_pem;
    time_t at;
};

void verify_pck(const PckChain &p, const Collateral &c, const Inputs &in)
{
    const char *const crls[] = {c.root_ca_crl.c_str(), c.pck_crl.c_str()};
    check("sgxAttestationVerifyPCKCertificate",
          sgxAttestationVerifyPCKCertificate(p.chain.c_str(), crls, in.root_pem.c_str(), &in.at));
}

void verify_collateral(const Collateral &c, const Inputs &in)
{
    check("sgxAttestationVerifyTCBInfo",
          sgxAttestationVerifyTCBInfo(c.tcb_info_signed.c_str(), c.tcb_info_issuer_chain.c_str(),
                                      c.root_ca_crl.c_str(), in.root_pem.c_str(), &in.at));
    check("sgxAttestationVerifyEnclaveIdentity",
          sgxAttestationVerifyEnclaveIdentity(c.qe_identity_signed.c_str(), c.qe_identity_issuer_chain.c_str(),
                                              c.root_ca_crl.c_str(), in.root_pem.c_str(), &in.at));
}

void verify_quote(const PckChain &p, const Collateral &c, const Inputs &in)
{
    check("sgxAttestationVerifyQuote",
          sgxAttestationVerifyQuote(in.quote.data(), static_cast<uint32_t>(in.quote.size()), p.leaf.c_str(),
                                    c.pck_crl.c_str(), c.tcb_info_signed.c_str(), c.qe_identity_signed.c_str()));
}

void verify_full(const Inputs &in)
{
    const Collateral c = parse_collateral(in.collateral_text);
    const PckChain p = pck_chain_of(in.quote);
    verify_pck(p, c, in);
    verify_collateral(c, in);
    verify_quote(p, c, in);
}

double now(clockid_t clk)
{
    timespec ts{};
    clock_gettime(clk, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Timing {
    double median_us, min_us, cpu_us;
};

// Warm-up (at least 5 operations and a quarter of a repetition), then 5 repetitions of at least
// seconds/5: the median repetition's wall and CPU time per operation, and the fastest repetition.
template <typename Op> Timing measure(double seconds, Op op)
{
    constexpr int reps = 5;
    const double rep_s = seconds / reps;
    const double t0 = now(CLOCK_MONOTONIC);
    for (int n = 0; n < 5 || now(CLOCK_MONOTONIC) - t0 < rep_s / 4; n++) { op(); }
    std::vector<std::pair<double, double>> per_op; // wall us, cpu us
    for (int r = 0; r < reps; r++) {
        long n = 0;
        const double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
        double w;
        do {
            op();
            n++;
            w = now(CLOCK_MONOTONIC) - w0;
        } while (w < rep_s);
        const double c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
        per_op.emplace_back(w * 1e6 / static_cast<double>(n), c * 1e6 / static_cast<double>(n));
    }
    std::sort(per_op.begin(), per_op.end());
    return Timing{per_op[reps / 2].first, per_op.front().first, per_op[reps / 2].second};
}

// The only function callgrind collects in (--toggle-collect=measured_loop): keep it out of line.
extern "C" __attribute__((noinline)) void measured_loop(void (*op)(void *), void *ctx, long n)
{
    for (long i = 0; i < n; i++) { op(ctx); }
}

template <typename F> void call_op(void *f) { (*static_cast<F *>(f))(); }

void usage()
{
    std::fprintf(stderr,
                 "usage: qvl_bench --quote Q --collateral C --root ROOT_PEM --at UNIX_SECONDS\n"
                 "                 [--mode once|full|pck-quote|quote|all] [--seconds S] [--kv] [--iters N]\n");
}

} // namespace

int main(int argc, char **argv)
{
    const char *quote_path = nullptr, *coll_path = nullptr, *root_path = nullptr, *at_arg = nullptr;
    std::string mode = "all";
    double seconds = 2;
    bool kv = false;
    long iters = 0;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--kv") { kv = true; continue; }
        if (a == "--help" || a == "-h") { usage(); return 0; }
        if (i + 1 >= argc) { usage(); return 2; }
        const char *v = argv[++i];
        if (a == "--quote") { quote_path = v; }
        else if (a == "--collateral") { coll_path = v; }
        else if (a == "--root") { root_path = v; }
        else if (a == "--at") { at_arg = v; }
        else if (a == "--mode") { mode = v; }
        else if (a == "--seconds") {
            char *end = nullptr;
            seconds = std::strtod(v, &end);
            if (end == v || *end != '\0' || !(seconds > 0 && seconds < 3600)) { usage(); return 2; }
        } else if (a == "--iters") {
            char *end = nullptr;
            iters = std::strtol(v, &end, 10);
            if (end == v || *end != '\0' || iters < 1 || iters > 1000000) { usage(); return 2; }
        } else { usage(); return 2; }
    }
    if (!quote_path || !coll_path || !root_path || !at_arg) { usage(); return 2; }
    if (mode != "once" && mode != "full" && mode != "pck-quote" && mode != "quote" && mode != "all") {
        usage();
        return 2;
    }
    if (iters > 0 && (mode == "once" || mode == "all")) {
        std::fprintf(stderr, "qvl_bench: --iters needs --mode full, pck-quote or quote\n");
        return 2;
    }
    char *end = nullptr;
    errno = 0;
    const long long at = std::strtoll(at_arg, &end, 10);
    if (errno != 0 || end == at_arg || *end != '\0' || at < 0) { usage(); return 2; }

    try {
        Inputs in;
        const std::string q = read_file(quote_path);
        in.quote.assign(q.begin(), q.end());
        in.collateral_text = read_file(coll_path);
        in.root_pem = read_file(root_path);
        in.at = static_cast<time_t>(at);

        if (mode == "once") {
            verify_full(in);
            std::printf("verified STATUS_OK (QVL %s, %s)\n", sgxAttestationGetVersion(), OpenSSL_version(OPENSSL_VERSION));
            return 0;
        }
        // Every mode's result is checked before it is timed, and in every timed operation.
        verify_full(in);
        const Collateral c = parse_collateral(in.collateral_text);
        const PckChain p = pck_chain_of(in.quote);
        struct Row { const char *name, *label; } rows[] = {
            {"full", "full: collateral JSON, PCK chain, TCB info, QE id, quote"},
            {"pck-quote", "pck-quote: PCK chain + quote (collateral verified once)"},
            {"quote", "quote: sgxAttestationVerifyQuote only"},
        };
        auto op_full = [&] { verify_full(in); };
        auto op_pck_quote = [&] {
            const PckChain pq = pck_chain_of(in.quote);
            verify_pck(pq, c, in);
            verify_quote(pq, c, in);
        };
        auto op_quote = [&] { verify_quote(p, c, in); };
        if (iters > 0) {
            void (*fn)(void *) = mode == "full" ? call_op<decltype(op_full)>
                                 : mode == "quote" ? call_op<decltype(op_quote)> : call_op<decltype(op_pck_quote)>;
            void *ctx = mode == "full" ? static_cast<void *>(&op_full)
                        : mode == "quote" ? static_cast<void *>(&op_quote) : static_cast<void *>(&op_pck_quote);
            for (int i = 0; i < 5; i++) { fn(ctx); }
            measured_loop(fn, ctx, iters);
            std::printf("mode %s: %ld iterations ok\n", mode.c_str(), iters);
            return 0;
        }
        std::printf("Intel QVL %s (%s), single thread, median of 5 x %.2f s; sample verifies STATUS_OK\n",
                    sgxAttestationGetVersion(), OpenSSL_version(OPENSSL_VERSION), seconds / 5);
        std::printf("  %-58s %10s %10s %10s\n", "operation", "us/op", "min us/op", "cpu us/op");
        for (const Row &r : rows) {
            if (mode != "all" && mode != r.name) { continue; }
            Timing t{};
            const std::string name = r.name;
            if (name == "full") {
                t = measure(seconds, op_full);
            } else if (name == "pck-quote") {
                t = measure(seconds, op_pck_quote);
            } else {
                t = measure(seconds, op_quote);
            }
            std::printf("  %-58s %10.1f %10.1f %10.1f\n", r.label, t.median_us, t.min_us, t.cpu_us);
            if (kv) {
                std::string k = name == "pck-quote" ? "pck_quote" : name;
                std::printf("kv qvl_us_%s=%.3f\nkv qvl_min_%s=%.3f\nkv qvl_cpu_%s=%.3f\n", k.c_str(), t.median_us,
                            k.c_str(), t.min_us, k.c_str(), t.cpu_us);
            }
        }
        return 0;
    } catch (const Failure &e) {
        std::fprintf(stderr, "qvl_bench: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qvl_bench: %s\n", e.what());
        return 1;
    }
}
