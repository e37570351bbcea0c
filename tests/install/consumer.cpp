// consumer.cpp — the public header from C++ (tests/install): describe and verify a quote.
//     consumer QUOTE UNIX_TIME   (DCAP skipped: no collateral)
#include <crabbox/verifier.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

int main(int argc, char **argv)
{
    if (argc != 3) { return 2; }
    std::ifstream in(argv[1], std::ios::binary);
    std::vector<uint8_t> quote((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (quote.empty()) { return 2; }
    int64_t now = std::strtoll(argv[2], nullptr, 10);

    cba_evidence ev;
    cba_evidence_init(&ev);
    ev.quote = quote.data();
    ev.quote_len = quote.size();
    cba_description d;
    cba_description_init(&d);
    if (cba_describe(&d, nullptr, &ev) != CBA_OK) { return 1; }

    cba_policy pol;
    cba_policy_init(&pol);
    pol.skip_dcap = true;
    std::unique_ptr<cba_report> rep(new cba_report);
    cba_report_init(rep.get());
    cba_err rc = cba_verify(rep.get(), &pol, &ev, now);
    std::unique_ptr<char, void (*)(void *)> json(cba_report_json(rep.get(), &pol, now), cba_free);
    if (!json) { return 2; }
    std::printf("c++: %s %s (%s)\n", cba_err_name(rc), json.get(), cba_version());
    return rep->verdict == CBA_VERDICT_VERIFIED ? 0 : 1;
}
