"""The model of `schemawarden.toml`, the policy a managed repository keeps at its root.

Pure: the caller reads the file and passes its text, so the bot can read it from the default
branch through the GitHub API and the CLI from disk, and both get the same errors. Every
mistake (unknown key, bad value, bad TOML) is a `ConfigurationError` naming the file, the
dotted key, what is wrong and what is allowed: a typo must never silently change the policy.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policies.errors import ConfigurationError
from policies.versions import DEFAULT_PG_VERSION, NEWEST_VERSION, OLDEST_VERSION, supported_range

SeverityName = Literal["error", "warning", "info"]
RuleSetting = Literal["off", "info", "warning", "error"]
MigrationFormat = Literal["auto", "drizzle-0", "drizzle-1"]


_RULE_CODE = re.compile(r"^SW\d{3}$")

# pydantic's error types in the words of TOML, which is what the user wrote.
_TOML_TYPES = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "tuple_type": "an array of strings",
    "list_type": "an array of strings",
}


def known_rule_codes() -> frozenset[str] | None:
    """The codes of the rulebook, or None while no registry can be read (then any SWnnn passes).

    The one place that knows where the registry lives, so [rules] checks follow it.
    """
    from policies.rules import all_rules

    codes = frozenset(rule.code for rule in all_rules())
    return codes or None


class _Strict(BaseModel):
    """Unknown keys are errors and TOML types are taken as written (no "16" for 16).

    The validators are built when the first policy file is read, not at import: a `check`
    without a policy file uses the defaults, which need no validating (see `Policy.defaults`).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class MigrationsSection(_Strict):
    """Where the Drizzle migrations live and which drizzle-kit layout they use."""

    folder: str = "migrations"
    format: MigrationFormat = "auto"
    schema_globs: tuple[str, ...] = ("src/models/Schema.ts",)

    @field_validator("folder")
    @classmethod
    def _folder_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder, relative to the repository root")
        return value

    @field_validator("schema_globs", mode="before")
    @classmethod
    def _globs_from_list(cls, value: Any) -> Any:
        # TOML arrays arrive as lists; strict mode would refuse them for a tuple.
        return tuple(value) if isinstance(value, list) else value


class Policy(_Strict):
    """The whole policy file; `environments` is validated by the reconciler's own model."""

    fail_on: SeverityName = "error"
    pg_version: int = Field(default=DEFAULT_PG_VERSION, ge=OLDEST_VERSION, le=NEWEST_VERSION)
    rules: dict[str, RuleSetting] = Field(default_factory=dict)
    migrations: MigrationsSection = Field(default_factory=MigrationsSection.model_construct)
    environments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    docs_url: str | None = None
    """Absolute URL of the rule reference (docs/rules.md as published); findings link to its sections."""
    applied_by: Literal["drizzle", "schemawarden"] | None = None
    """Who applies the migrations where it matters; unset: `schemawarden` when environments are
    declared, else `drizzle` (DESIGN's table of names)."""

    @field_validator("docs_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+\S*$", value):
            raise ValueError(
                f"{value!r} is not an absolute http(s) URL; name the published rule reference, "
                "e.g. https://github.com/<owner>/schemawarden/blob/main/docs/rules.md"
            )
        return value.split("#")[0] if value else value

    @field_validator("rules", mode="before")
    @classmethod
    def _upper_codes(cls, value: Any) -> Any:
        return {str(k).upper(): v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _known_codes(self) -> Policy:
        known = known_rule_codes()
        unknown = [c for c in self.rules if not _RULE_CODE.match(c) or (known and c not in known)]
        if unknown:
            allowed = ", ".join(sorted(known)) if known else "codes of the form SW123"
            keys = ", ".join(f"rules.{code}" for code in unknown)
            raise ValueError(f"{keys}: unknown rule code (known codes: {allowed})")
        return self

    @classmethod
    def defaults(cls) -> Policy:
        """The policy of a repository without a policy file: every default, as an empty file gives."""
        return cls.model_construct()

    def applier(self) -> str:
        """`applied_by`, or its default: `schemawarden` when the policy declares environments."""
        if self.applied_by is not None:
            return self.applied_by
        return "schemawarden" if self.environments else "drizzle"

    def severity_overrides(self) -> dict[str, str]:
        """The [rules] table as the analysis context wants it: code -> error|warning|info|off."""
        return dict(self.rules)


def load_policy(text: str, path: str) -> Policy:
    """Parse and validate the text of a policy file; `path` is only used in messages."""
    import tomllib  # here, not at the top: compiling its patterns costs a command without a file ~5 ms

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at end of document)" for a truncated file; name the line anyway.
        where = str(exc).replace("at end of document", f"at line {text.count(chr(10)) + 1}, end of file")
        raise ConfigurationError(f"{path}: not valid TOML: {where}") from exc
    return policy_from_dict(data, path)


def policy_from_dict(data: dict[str, Any], path: str) -> Policy:
    """Validate an already-parsed policy, turning pydantic's errors into one readable message."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise ConfigurationError(f"{path}: " + "; ".join(problems)) from exc


def _describe(error: Any) -> str:
    """One pydantic error as `key: what is wrong (allowed: ...)`."""
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1])) or "none"
        return f"{key}: unknown key (allowed keys here: {allowed})"
    if kind == "value_error":
        return f"{key}: {error['ctx']['error']}" if loc else str(error["ctx"]["error"])
    if kind in ("literal_error", "enum"):
        return f"{key}: {error['input']!r} is not allowed ({error['ctx']['expected']})"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{key}: {error['input']!r} is out of range (allowed: {supported_range()})"
    if kind in _TOML_TYPES:
        return f"{key}: must be {_TOML_TYPES[kind]} (got {error['input']!r})"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def _allowed_keys(parent: tuple[str, ...]) -> list[str]:
    """The keys a table accepts, found by walking the model along the error's location."""
    model: type[BaseModel] = Policy
    for part in parent:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
