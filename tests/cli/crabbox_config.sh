#!/usr/bin/env bash
# Configuration through the CLI (`crabbox doctor --json` shows every effective value and its
# source): precedence defaults < user file < repository files < CRABBOX_CONFIG < environment <
# flags, the trust rule for repository files, and errors naming file and line (exit 2).
# Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"
user=$XDG_CONFIG_HOME/crabbox/config.yaml
mkdir -p "$(dirname "$user")"

# Defaults.
expect defaults 0 doctor --json && py defaults_json \
    "o['config']['ttl']['value'] is None and o['config']['ttl']['source']=='default' and o['config']['test']['mode']['value'] is None and o['attest'] is True"

# The user file (trusted) and a repository file (untrusted).
cat >"$user" <<'EOF'
ttl: 2h
class: large
test:
  mode: from-user
  helper: /nonexistent/user-helper
  instanceType: user-type
  nodeId: "42"
EOF
chmod 600 "$user"
cat >crabbox.yaml <<'EOF'
ttl: 3h
test:
  mode: from-repo
  helper: /nonexistent/repo-helper
  nodeId: "666"
  compose: /etc/passwd
  instanceType: repo-type
EOF
expect repo_over_user 2 doctor --json && py repo_helper_ignored_but_user_helper_used "'user-helper' in o['error']"
# (the user's helper does not exist: the driver says so; a repository cannot override it.)
has repo_ignored_warning "crabbox.yaml:4: ignoring 'test.helper' from a repository config" "$tmp/err"
has repo_node_warning "crabbox.yaml:5: ignoring 'test.nodeId'" "$tmp/err"
has repo_compose_warning "crabbox.yaml:6: ignoring 'test.compose'" "$tmp/err"
sed -i '/helper:/d' "$user"
expect precedence_files 0 doctor --json && py precedence_files_json \
    "o['config']['ttl']['value']=='3h' and o['config']['ttl']['source'].endswith('crabbox.yaml:1') and o['config']['class']['value']=='large' and o['config']['test']['mode']['value']=='from-repo' and o['config']['test']['nodeId']['value']=='42' and o['config']['test']['compose']['value'] is None and o['config']['test']['instanceType']['value']=='repo-type'"
has summary_shows_node 'node_id=42' "$tmp/out"

# CRABBOX_CONFIG beats the repository; the environment beats files; flags beat everything.
printf 'ttl: 4h\n' >"$tmp/explicit.yaml"
chmod 600 "$tmp/explicit.yaml"
CRABBOX_CONFIG=$tmp/explicit.yaml expect crabbox_config 0 doctor --json && py crabbox_config_json "o['config']['ttl']['value']=='4h'"
CRABBOX_CONFIG=$tmp/explicit.yaml CRABBOX_TTL=5h CRABBOX_TEST_MODE=from-env expect env_over_files 0 doctor --json && \
    py env_json "o['config']['ttl']['value']=='5h' and o['config']['ttl']['source']=='environment CRABBOX_TTL' and o['config']['test']['mode']['value']=='from-env'"
CRABBOX_TTL=5h CRABBOX_TEST_MODE=from-env expect flags_over_env 0 doctor --json --ttl 6h --test-mode=from-flag && \
    py flags_json "o['config']['ttl']['value']=='6h' and o['config']['test']['mode']['value']=='from-flag' and o['config']['test']['mode']['source']=='flag --test-mode'"
expect flag_space_value 0 doctor --json --test-instance-type flag-type && py flag_space_json "o['config']['test']['instanceType']['value']=='flag-type'"

# A CRABBOX_CONFIG inside the repository (here: the current directory) is not trusted.
printf 'test:\n  nodeId: "7"\n' >inside.yaml
CRABBOX_CONFIG=$PWD/inside.yaml expect config_inside_repo 0 doctor --json && py inside_ignored "o['config']['test']['nodeId']['value']=='42'"
has inside_warning "inside.yaml:2: ignoring 'test.nodeId'" "$tmp/err"
rm inside.yaml

# Attestation: a repository cannot turn it off, the user can; skip beats attest.
printf 'test:\n  attest: false\n' >.crabbox.yaml
expect repo_attest_false 0 doctor --json && py repo_attest_json "o['attest'] is True"
rm .crabbox.yaml
sed -i 's/^test:$/test:\n  attest: false/' "$user"
expect user_attest_false 0 doctor --json && py user_attest_json "o['attest'] is False"
expect flag_attest_beats_user 0 doctor --json --test-attest && py flag_attest_json "o['attest'] is True"
expect skip_beats_attest 0 doctor --json --test-attest --test-skip-attestation && py skip_json "o['attest'] is False"
CRABBOX_TEST_ATTEST=true expect env_attest 0 doctor --json && py env_attest_json "o['attest'] is True"
CRABBOX_TEST_ATTEST=maybe expect env_attest_bad 2 doctor && has env_attest_msg 'CRABBOX_TEST_ATTEST' "$tmp/err"
rm crabbox.yaml

# Errors name the file and the line (exit 2).
cp "$user" "$tmp/user.good"
printf 'ttl: 1h\nbogus: 1\n' >"$user"
expect unknown_key 2 doctor && has unknown_key_msg "config.yaml:2: unknown key 'bogus'" "$tmp/err"
printf 'test:\n  mode: a\n  nonsense: b\n' >"$user"
expect unknown_block_key 2 doctor --json && py unknown_block_key_json "o['code']=='usage' and 'config.yaml:3' in o['error'] and 'test.nonsense' in o['error']"
printf 'ttl: forever\n' >"$user"
expect wrong_type 2 doctor && has wrong_type_msg "config.yaml:1: 'ttl' must be a duration" "$tmp/err"
printf 'test:\n  attest: yes please\n' >"$user"
expect wrong_bool 2 doctor && has wrong_bool_msg "config.yaml:2: 'attest' must be true or false" "$tmp/err"
printf 'test:\n  mode: [a, b]\n' >"$user"
expect list_value 2 doctor && has list_value_msg "config.yaml:2: 'test.mode' must be a single value" "$tmp/err"
printf 'ttl: 1h\nttl: 2h\n' >"$user"
expect duplicate 2 doctor && has duplicate_msg "config.yaml:2: duplicate key 'ttl'" "$tmp/err"
printf 'ttl: 1h\n  x: [\n' >"$user"
expect bad_yaml 2 doctor && has bad_yaml_msg "config.yaml:[0-9]+: invalid YAML" "$tmp/err"
printf 'phala:\n  cli: /usr/bin/phala\nnotadriver:\n  x: 1\n' >"$user"
expect other_driver_block 2 doctor && has other_block_msg "config.yaml:4: unknown key 'notadriver'" "$tmp/err"
printf 'phala:\n  cli: /usr/bin/phala\n' >"$user"
expect phala_block_accepted 0 doctor
cp "$tmp/user.good" "$user"
chmod 660 "$user"
expect group_writable_config 2 doctor && has group_writable_config_msg 'refusing config .*config.yaml' "$tmp/err"
chmod 600 "$user"
CRABBOX_CONFIG=/nonexistent/x.yaml expect missing_crabbox_config 2 doctor && has missing_msg '/nonexistent/x.yaml' "$tmp/err"

# The class/type choice reaches the driver's spec; an instance type flag after --class wins.
expect class_then_type 0 warmup --class fast --test-instance-type tdx.large --json --test-skip-attestation
has class_dropped 'class=- instance_type=tdx.large' "$tmp/err"
expect type_then_class 0 warmup --test-instance-type tdx.large --class fast --json --test-skip-attestation
has class_kept 'class=fast instance_type=tdx.large' "$tmp/err"
expect explicit_type 0 warmup --type tdx.xlarge --json --test-skip-attestation && py explicit_type_json "o['server_type']=='tdx.xlarge'"
# nodeId scopes the claims: another node's leases are invisible.
CRABBOX_TEST_NODE_ID=other expect other_scope 0 list --json && py other_scope_json "o==[]"
expect own_scope 0 list --json && py own_scope_json "len(o)==3 and all(x['scope']=='node:42' for x in o)"

finish
