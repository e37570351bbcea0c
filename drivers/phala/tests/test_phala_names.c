/* test_phala_names.c — lease ids, CVM names and their reverse mapping, instance types, node ids,
 * app ids, status words (phala-provider.md §3, §4). */
#include <criterion/criterion.h>
#include <string.h>

#include "phala.h"

TestSuite(phala_names, .timeout = 30);

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

Test(phala_names, lease_id_format)
{
    cr_assert(phala_lease_id_valid("cbx_3fa91c0d22e1"));
    cr_assert_not(phala_lease_id_valid("cbx_3fa91c0d22e"), "11 hex digits");
    cr_assert_not(phala_lease_id_valid("cbx_3fa91c0d22e12"), "13 hex digits");
    cr_assert_not(phala_lease_id_valid("cbx_3FA91C0D22E1"), "upper case");
    cr_assert_not(phala_lease_id_valid("cbx-3fa91c0d22e1"), "hyphen instead of underscore");
    cr_assert_not(phala_lease_id_valid("cbx_3fa91c0d22g1"), "not hex");
    cr_assert_not(phala_lease_id_valid(""));
    cr_assert_not(phala_lease_id_valid(NULL));
}

Test(phala_names, name_round_trip)
{
    char name[64], lease[PHALA_LEASE_ID_LEN + 1];
    cr_assert(phala_name_for_lease(name, sizeof name, "cbx_3fa91c0d22e1"));
    cr_assert_str_eq(name, "crabbox-cbx-3fa91c0d22e1");
    cr_assert(phala_name_valid(txt(name)));
    cr_assert(phala_lease_for_name(lease, sizeof lease, txt(name)));
    cr_assert_str_eq(lease, "cbx_3fa91c0d22e1");
    cr_assert_not(phala_name_for_lease(name, 20, "cbx_3fa91c0d22e1"), "buffer too small");
    cr_assert_not(phala_name_for_lease(name, sizeof name, "cbx_nothex00000"));
}

Test(phala_names, reverse_mapping_is_strict)
{
    char lease[PHALA_LEASE_ID_LEN + 1] = "untouched";
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("crabbox-cbx-3fa91c0d22e")));
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("crabbox-cbx-3fa91c0d22e1x")));
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("crabbox-cbx_3fa91c0d22e1")),
                  "the underscore form is not a Phala name");
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("crabby-cbx-3fa91c0d22e1")));
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("other-app")));
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("crabbox-abc-3fa91c0d22e1")));
    cr_assert_not(phala_lease_for_name(lease, sizeof lease, txt("")));
    cr_assert_str_eq(lease, "untouched", "a failed decode leaves the output alone");
}

Test(phala_names, phala_name_rule)
{
    cr_assert(phala_name_valid(txt("abcde")));
    cr_assert(phala_name_valid(txt("a1-b2-c3")));
    cr_assert_not(phala_name_valid(txt("abcd")), "too short");
    cr_assert_not(phala_name_valid(txt("1abcde")), "digit first");
    cr_assert_not(phala_name_valid(txt("ab--cd")), "double hyphen");
    cr_assert_not(phala_name_valid(txt("abcd-")), "trailing hyphen");
    cr_assert_not(phala_name_valid(txt("ab_cde")), "underscore");
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    cr_assert_not(phala_name_valid(txt(long_name)), "64 characters");
    long_name[63] = '\0';
    cr_assert(phala_name_valid(txt(long_name)), "63 characters");
}

Test(phala_names, classes_map_to_instance_types)
{
    cr_assert_str_eq(phala_class_type("tiny"), "tdx.small");
    cr_assert_str_eq(phala_class_type("small"), "tdx.small");
    cr_assert_str_eq(phala_class_type("standard"), "tdx.small");
    cr_assert_str_eq(phala_class_type("fast"), "tdx.medium");
    cr_assert_str_eq(phala_class_type("large"), "tdx.large");
    cr_assert_str_eq(phala_class_type("beast"), "tdx.xlarge");
    cr_assert_null(phala_class_type("tdx.2xlarge"), "unknown classes are used verbatim");
    cr_assert_null(phala_class_type(NULL));
}

Test(phala_names, instance_type_normalize)
{
    char out[32];
    cr_assert(phala_instance_type_normalize(out, sizeof out, "tdx.medium"));
    cr_assert_str_eq(out, "tdx.medium");
    cr_assert(phala_instance_type_normalize(out, sizeof out, "linux/amd64:tdx.large"));
    cr_assert_str_eq(out, "tdx.large");
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "windows/amd64:tdx.large"));
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "linux/amd64"));
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "--json"), "option-looking");
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "-t"));
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, ""));
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "TDX.small"), "upper case");
    cr_assert_not(phala_instance_type_normalize(out, sizeof out, "tdx small"));
    cr_assert_not(phala_instance_type_normalize(out, sizeof out,
                                                "tdx.0123456789012345678901234567890"));
}

Test(phala_names, node_ids_are_numeric)
{
    cr_assert(phala_node_id_valid("12"));
    cr_assert_not(phala_node_id_valid("prod5"));
    cr_assert_not(phala_node_id_valid("-1"));
    cr_assert_not(phala_node_id_valid(""));
    cr_assert_not(phala_node_id_valid("12345678901"));
    cr_assert_not(phala_node_id_valid(NULL));
}

Test(phala_names, seconds_parse_is_strict_and_bounded)
{
    int64_t ms = -7;
    cr_assert(phala_seconds_parse("1", 1, 86400, &ms));
    cr_assert_eq(ms, 1000);
    cr_assert(phala_seconds_parse("86400", 1, 86400, &ms));
    cr_assert_eq(ms, 86400000);
    cr_assert(phala_seconds_parse("0", 0, 86400, &ms), "0 where the key allows it");
    cr_assert_eq(ms, 0);
    ms = -7;
    cr_assert_not(phala_seconds_parse("0", 1, 86400, &ms), "0 is not a deadline");
    cr_assert_not(phala_seconds_parse("86401", 1, 86400, &ms), "huge");
    cr_assert_not(phala_seconds_parse("9999999999", 1, 86400, &ms), "huge, 10 digits");
    cr_assert_not(phala_seconds_parse("99999999999999999999", 1, 86400, &ms), "would overflow");
    cr_assert_not(phala_seconds_parse("-5", 1, 86400, &ms), "negative");
    cr_assert_not(phala_seconds_parse("+5", 1, 86400, &ms));
    cr_assert_not(phala_seconds_parse(" 5", 1, 86400, &ms));
    cr_assert_not(phala_seconds_parse("5s", 1, 86400, &ms), "no suffixes");
    cr_assert_not(phala_seconds_parse("1.5", 1, 86400, &ms));
    cr_assert_not(phala_seconds_parse("0x10", 1, 86400, &ms));
    cr_assert_not(phala_seconds_parse("", 1, 86400, &ms));
    cr_assert_not(phala_seconds_parse(NULL, 1, 86400, &ms));
    cr_assert_eq(ms, -7, "untouched on failure");
}

Test(phala_names, app_id_normalize)
{
    char out[41] = "untouched";
    const char *hex = "0123456789ABCDEF0123456789abcdef01234567";
    cr_assert(phala_app_id_normalize(out, sizeof out, txt(hex)));
    cr_assert_str_eq(out, "0123456789abcdef0123456789abcdef01234567");
    cr_assert(phala_app_id_normalize(out, sizeof out,
                                     txt("app_0123456789abcdef0123456789abcdef01234567")));
    cr_assert_str_eq(out, "0123456789abcdef0123456789abcdef01234567");
    strcpy(out, "untouched");
    cr_assert_not(phala_app_id_normalize(out, sizeof out,
                                         txt("xyz_0123456789abcdef0123456789abcdef01234567")));
    cr_assert_not(phala_app_id_normalize(out, sizeof out, txt("0123456789abcdef")));
    cr_assert_not(phala_app_id_normalize(out, sizeof out,
                                         txt("0123456789abcdef0123456789abcdef0123456g")));
    cr_assert_not(phala_app_id_normalize(out, sizeof out, txt("")));
    cr_assert_str_eq(out, "untouched");
}

Test(phala_names, status_words)
{
    char out[32];
    phala_status_normalize(out, sizeof out, txt("Running"));
    cr_assert_str_eq(out, "running");
    phala_status_normalize(out, sizeof out, txt("starting"));
    cr_assert_str_eq(out, "provisioning");
    phala_status_normalize(out, sizeof out, txt("paused"));
    cr_assert_str_eq(out, "stopped");
    phala_status_normalize(out, sizeof out, txt("in\x1b[31mvalid"));
    cr_assert_str_eq(out, "in__31mvalid", "no terminal escapes survive");
    phala_status_normalize(out, sizeof out, txt(""));
    cr_assert_str_eq(out, "unknown");
}

Test(phala_names, work_root_rule)
{
    cr_assert(phala_work_root_valid("/var/volatile/crabbox"));
    cr_assert(phala_work_root_valid("/tmp/crabbox"));
    cr_assert(phala_work_root_valid("/data"));
    cr_assert_not(phala_work_root_valid("/"));
    cr_assert_not(phala_work_root_valid("/var/volatile"));
    cr_assert_not(phala_work_root_valid("/tmp"));
    cr_assert_not(phala_work_root_valid("/usr"));
    cr_assert_not(phala_work_root_valid("relative/path"));
    cr_assert_not(phala_work_root_valid("/var/volatile/crabbox/"), "trailing slash");
    cr_assert_not(phala_work_root_valid("/var//crabbox"));
    cr_assert_not(phala_work_root_valid("/var/./crabbox"));
    cr_assert_not(phala_work_root_valid("/var/volatile/../crabbox"));
    cr_assert_not(phala_work_root_valid("/var/crab box"));
    cr_assert_not(phala_work_root_valid("/var/crab'box"));
    cr_assert_not(phala_work_root_valid(""));
    cr_assert_not(phala_work_root_valid(NULL));
}
