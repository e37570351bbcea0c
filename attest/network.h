/* network.h — fetching and assembling collateral for one platform (network.c). Private to attest/. */
#ifndef CRABBOX_ATTEST_NETWORK_H
#define CRABBOX_ATTEST_NETWORK_H

#include "fetch_internal.h"

/* fetch_network downloads PCK CRL, TCB info, QE identity and root CA CRL for platform t from
 * o->base_url (already normalised), checks each response's form, and puts the assembled
 * QuoteCollateralV3 JSON (unverified) in res->json. Returns 0 or a status (reported). */
int fetch_network(const curl_api *cu, const cba_fetch_opts *o, const fetch_target *t, cba_fetch_result *res);

#endif
