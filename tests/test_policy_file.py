"""The policy file: defaults, every setting read, and every mistake named with file, key and fix."""

from __future__ import annotations

import pytest

from policies.errors import ConfigurationError
from policies.policy_file import Policy, known_rule_codes, load_policy

PATH = "repo/schemawarden.toml"


def _error(text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_policy(text, PATH)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert message.startswith(f"{PATH}: "), message
    return message


def _a_known_code() -> str:
    codes = known_rule_codes()
    return sorted(codes)[0] if codes else "SW101"


def test_an_empty_file_gives_the_documented_defaults() -> None:
    policy = load_policy("", PATH)
    assert policy == Policy() == Policy.defaults()  # the defaults a check without a policy file uses
    assert policy.fail_on == "error"
    assert policy.pg_version == 16
    assert policy.rules == {}
    assert policy.migrations.folder == "migrations"
    assert policy.migrations.format == "auto"
    assert policy.migrations.schema_globs == ("src/models/Schema.ts",)
    assert policy.environments == {}


def test_every_setting_is_read() -> None:
    code = _a_known_code()
    policy = load_policy(
        f"""
fail_on = "warning"
pg_version = 13

[rules]
{code} = "off"

[migrations]
folder = "drizzle"
format = "drizzle-1"
schema_globs = ["src/db/*.ts", "src/schema.ts"]

[environments.production]
label = "deploy:production"
approvers = ["alice"]
""",
        PATH,
    )
    assert policy.fail_on == "warning"
    assert policy.pg_version == 13
    assert policy.severity_overrides() == {code: "off"}
    assert policy.migrations.folder == "drizzle"
    assert policy.migrations.format == "drizzle-1"
    assert policy.migrations.schema_globs == ("src/db/*.ts", "src/schema.ts")
    # Kept raw: the reconciler validates environments with its own model.
    assert policy.environments == {"production": {"label": "deploy:production", "approvers": ["alice"]}}


def test_rule_codes_are_read_case_insensitively() -> None:
    code = _a_known_code()
    assert load_policy(f'[rules]\n{code.lower()} = "info"\n', PATH).rules == {code: "info"}


def test_an_unknown_top_level_key_is_named_with_the_allowed_keys() -> None:
    message = _error("pgversion = 15\n")
    assert "pgversion: unknown key" in message
    assert "pg_version" in message and "fail_on" in message and "migrations" in message


def test_an_unknown_key_in_a_table_is_named_by_its_dotted_path() -> None:
    message = _error('[migrations]\nfolder = "m"\nfodler = "x"\n')
    assert "migrations.fodler: unknown key" in message
    assert "folder, format, schema_globs" in message


def test_a_bad_rule_severity_names_the_rule_and_the_allowed_values() -> None:
    code = _a_known_code()
    message = _error(f'[rules]\n{code} = "fatal"\n')
    assert f"rules.{code}" in message
    assert "'fatal'" in message
    for allowed in ("off", "info", "warning", "error"):
        assert f"'{allowed}'" in message


def test_an_unknown_rule_code_is_an_error_listing_the_known_codes() -> None:
    message = _error('[rules]\nSW999 = "off"\nno_such_rule = "off"\n')
    assert "rules.SW999" in message or known_rule_codes() is None
    assert "rules.NO_SUCH_RULE" in message
    assert "unknown rule code" in message
    known = known_rule_codes()
    if known:
        assert all(code in message for code in known)


@pytest.mark.parametrize("version", [10, 19])
def test_a_postgresql_version_out_of_range_says_which_are_supported(version: int) -> None:
    message = _error(f"pg_version = {version}\n")
    assert f"pg_version: {version} is out of range (allowed: 11 to 18)" in message


def test_values_keep_their_toml_type() -> None:
    assert "pg_version: must be an integer (got '16')" in _error('pg_version = "16"\n')
    assert "migrations.schema_globs: must be an array of strings" in _error(
        '[migrations]\nschema_globs = "src/models/Schema.ts"\n'
    )
    assert "environments: must be a table" in _error("environments = 3\n")


def test_bad_fail_on_and_format_list_what_is_allowed() -> None:
    message = _error('fail_on = "never"\n[migrations]\nformat = "prisma"\n')
    assert "fail_on: 'never' is not allowed ('error', 'warning' or 'info')" in message
    assert "migrations.format: 'prisma' is not allowed ('auto', 'drizzle-0' or 'drizzle-1')" in message


def test_a_toml_syntax_error_names_its_line() -> None:
    message = _error('pg_version = 16\nfail_on = "error"\n[rules\n')
    assert "not valid TOML" in message
    assert "line 3" in message


def test_a_truncated_file_names_the_last_line() -> None:
    message = _error('pg_version = 16\nfail_on = [\n  "error",\n')
    assert "not valid TOML" in message
    assert "line 4" in message


def test_docs_url_is_an_absolute_address_of_the_rule_reference() -> None:
    assert Policy().docs_url is None
    url = "https://github.com/acme/schemawarden/blob/main/docs/rules.md"
    assert load_policy(f'docs_url = "{url}"\n', PATH).docs_url == url
    message = _error('docs_url = "docs/rules.md"\n')
    assert "docs_url: 'docs/rules.md' is not an absolute http(s) URL" in message


def test_the_policy_file_the_context_and_the_lock_model_accept_one_version_range() -> None:
    from policies.context import Context
    from policies.locks import ENTRIES
    from policies.versions import NEWEST_VERSION, OLDEST_VERSION, is_supported

    for version in (OLDEST_VERSION - 1, OLDEST_VERSION, NEWEST_VERSION, NEWEST_VERSION + 1):
        try:
            load_policy(f"pg_version = {version}\n", PATH)
            policy_accepts = True
        except ConfigurationError:
            policy_accepts = False
        try:
            Context(pg_version=version)
            context_accepts = True
        except ConfigurationError:
            context_accepts = False
        assert policy_accepts == context_accepts == is_supported(version), version
    assert all(OLDEST_VERSION <= e.since <= e.until <= NEWEST_VERSION for e in ENTRIES)
