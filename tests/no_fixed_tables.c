/* no_fixed_tables.c — an empty list of fixed-key ECDSA tables, linked into crabbox-attest-no-tables
 * (tests/CMakeLists.txt) in place of the generated ecdsa_fixed_tables.c: an object file's
 * definitions win over the archive member, which is then never pulled in (were it pulled, the
 * link would fail on the duplicate symbols). Every signature then takes
 * cba_ecdsa_p256_check_ordinary, so cli.ecdsa_tables compares whole verifications with and without
 * the tables. Test builds only: the library itself has no switch and reads no environment. */
#include "ecdsa_table.h"

const cba_p256_fixed_key cba_p256_fixed_keys[1] = {{.name = "none"}};
const size_t cba_p256_num_fixed_keys = 0;
