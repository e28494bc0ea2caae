"""GitHub's published OpenAPI description, as the fake GitHub uses it.

Three jobs, all over the committed subset (`api.github.com.subset.json`, written by
`make_openapi_subset.py`):

* route: which documented operation a request names (`match`), honouring GitHub's
  `x-multi-segment` path parameters (`contents/{path}` and `git/trees/{tree_sha}` take slashes);
* validate: `request_errors` and `response_errors` run openapi-core on what the fake receives and
  what it answers, so a wrong path, method, parameter or body fails the test that sent it, and the
  fake cannot drift from GitHub's shapes (tests: openapi-core is in the `dev` extra; `schemawarden
  demo` serves the fake without it, `Description(validate=False)`);
* shape: `instance` completes GitHub's own example of a response with every property its schema
  requires (GitHub's examples are not always complete), so the fake's answers are GitHub's shapes
  with the fake's values laid over them.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openapi_core import OpenAPI

SPEC_PATH = Path(__file__).resolve().parent / "api.github.com.subset.json"
_HOST = "https://api.github.com"


@dataclass(frozen=True)
class Operation:
    """One documented operation: `GET /repos/{owner}/{repo}/pulls/{pull_number}`."""

    method: str
    template: str
    pattern: re.Pattern[str]
    multi_segment: frozenset[str]
    declared_statuses: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.template}"


def _parameter_pattern(multi: frozenset[str], found: re.Match[str]) -> str:
    name = found.group(1)
    return f"(?P<{name}>{'.+' if name in multi else '[^/]+'})"


class _Request:
    """openapi-core's request protocol over what the fake received."""

    def __init__(self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
                 body: bytes | None, content_type: str) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = _HOST
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(headers), cookie=ImmutableMultiDict()
        )
        self.content_type = content_type
        self.body = body or None

    @property
    def full_url_pattern(self) -> str:
        return _HOST + self.path


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes | None, content_type: str) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers(headers)
        self.content_type = content_type
        self.data = body


class Description:
    """The subset of GitHub's REST description, loaded once per test session. With `validate`
    false, requests and answers are not checked (openapi-core need not be installed)."""

    def __init__(self, path: Path = SPEC_PATH, validate: bool = True) -> None:
        self.spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.openapi: OpenAPI | None = None
        if validate:
            from openapi_core import OpenAPI

            self.openapi = OpenAPI.from_dict(_null_in_nullable_enums(copy.deepcopy(self.spec)))
        self.operations = sorted(self._operations(), key=lambda op: -op.template.count("/"))

    def _operations(self) -> list[Operation]:
        found = []
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                if method == "parameters":
                    continue
                params = [self.resolve(p) for p in operation.get("parameters", [])]
                multi = frozenset(p["name"] for p in params if p.get("x-multi-segment"))
                regex = re.sub(r"\\\{(\w+)\\\}", partial(_parameter_pattern, multi), re.escape(template))
                found.append(Operation(method, template, re.compile(f"^{regex}$"), multi,
                                       frozenset(operation["responses"])))
        return found

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """`node` with its `$ref` (if any) followed, to the end."""
        while "$ref" in node:
            _, _, section, name = node["$ref"].split("/", 3)
            node = self.spec["components"][section][name]
        return node

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation `method path` names and its path parameters (decoded), or None."""
        candidates = [op for op in self.operations if op.pattern.match(path)]
        for op in candidates:
            if op.method == method.lower():
                found = op.pattern.match(path)
                assert found is not None
                return op, {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
        return None

    def _validation_path(self, op: Operation, path: str) -> str:
        """The path with slashes inside multi-segment parameters encoded: openapi-core's router
        takes a parameter to be one segment."""
        found = op.pattern.match(path)
        if found is None or not op.multi_segment:
            return path
        out, last = [], 0
        for name in op.multi_segment:
            start, end = found.span(name)
            out.append(path[last:start] + path[start:end].replace("/", "%2F"))
            last = end
        return "".join(out) + path[last:]

    def request_errors(self, op: Operation | None, method: str, path: str, query: list[tuple[str, str]],
                       headers: dict[str, str], body: bytes | None, content_type: str) -> list[str]:
        """What openapi-core finds wrong with a request (empty: GitHub would accept its shape, or
        nothing is validated)."""
        if self.openapi is None:
            return []
        where = self._validation_path(op, path) if op else path
        request = _Request(method, where, query, headers, body, content_type)
        return [_explain(e) for e in self.openapi.iter_request_errors(request)]

    def response_errors(self, op: Operation, method: str, path: str, query: list[tuple[str, str]],
                        status: int, headers: dict[str, str], body: bytes | None) -> list[str]:
        """What is wrong with the fake's own answer, held to the status's documented schema.

        GitHub documents few error statuses per operation; an answer with an undocumented status
        (a 5xx, a rate limit) must still be GitHub's basic error body: `{"message": ...}`.
        """
        if self.openapi is None:
            return []
        if str(status) not in op.declared_statuses:
            if not body:
                return []
            try:
                data = json.loads(body)
            except ValueError:
                return [f"{status} answer is not JSON"]
            ok = isinstance(data, dict) and isinstance(data.get("message"), str)
            return [] if ok else [f"{status} answer is not GitHub's basic error shape: {data!r}"]
        request = _Request(method, self._validation_path(op, path), query, {}, None, "")
        content_type = headers.get("content-type", "application/json").split(";")[0]
        response = _Response(status, headers, body if body else None, content_type)
        errors = self.openapi.iter_response_errors(request, response)
        return [_explain(e) for e in errors]

    @cached_property
    def _examples(self) -> dict[str, Any]:
        return {name: ex["value"] for name, ex in self.spec["components"]["examples"].items()}

    def schema(self, name: str) -> dict[str, Any]:
        """A named schema of `components/schemas`."""
        return self.resolve({"$ref": f"#/components/schemas/{name}"})

    def instance(self, schema: str, example: str | None = None, **values: Any) -> dict[str, Any]:
        """An object of schema `schema`: GitHub's example `example` (if given), with `values` laid
        over it (nested dicts merge), completed with every property the schema requires."""
        base = copy.deepcopy(self._examples[example]) if example else {}
        if isinstance(base, list):
            base = base[0]
        return self.complete(_merge(base, values), self.schema(schema))  # type: ignore[no-any-return]

    def complete(self, value: Any, schema: dict[str, Any]) -> Any:
        """`value` with each required property that it lacks filled in from `schema`."""
        schema = self.resolve(schema)
        if "allOf" in schema:
            for part in schema["allOf"]:
                value = self.complete(value, part)
            return value
        branches = schema.get("oneOf") or schema.get("anyOf")
        if branches:
            if value is None:
                return None
            return self.complete(value, self._branch_for(value, branches))
        if value is None:
            return None
        if isinstance(value, dict) and (schema.get("type") == "object" or "properties" in schema):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    value[key] = self.generate(props.get(key, {}))
            for key, item in value.items():
                if key in props:
                    value[key] = self.complete(item, props[key])
            return value
        if isinstance(value, list) and "items" in schema:
            return [self.complete(item, schema["items"]) for item in value]
        return value

    def _branch_for(self, value: Any, branches: list[dict[str, Any]]) -> dict[str, Any]:
        kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}
        wanted = kinds.get(type(value))
        resolved = [self.resolve(b) for b in branches]
        for branch in resolved:
            if branch.get("type") == wanted or (wanted == "object" and "properties" in branch):
                return branch
        return resolved[0]

    def generate(self, schema: dict[str, Any]) -> Any:
        """The smallest value that `schema` accepts (null where it allows null)."""
        schema = self.resolve(schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                generated = self.generate(part)
                if isinstance(generated, dict):
                    merged.update(generated)
            return merged
        if schema.get("nullable"):
            return None
        branches = schema.get("oneOf") or schema.get("anyOf")
        if branches:
            return self.generate(branches[0])
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {key: self.generate(props.get(key, {})) for key in schema.get("required", [])}
        if kind == "array":
            return []
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return 0
        if kind == "boolean":
            return False
        fmt = str(schema.get("format"))
        return {"date-time": "2024-01-01T00:00:00Z", "uri": _HOST, "email": "octocat@github.com"}.get(fmt, "")


def _null_in_nullable_enums(node: Any) -> Any:
    """GitHub marks a property `nullable` with an `enum` (a check run's `conclusion`) and sends
    null for it; under OpenAPI 3.0.3 null must then be listed in the enum, so list it."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)
    return node


DROP: Any = object()
"""A value for `Description.instance` that removes the example's property (an optional property
that GitHub leaves out, where null would not be valid)."""


def _merge(base: Any, values: dict[str, Any]) -> Any:
    if not isinstance(base, dict):
        base = {}
    for key, value in values.items():
        if value is DROP:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return base


def _explain(error: BaseException) -> str:
    """The error's schema findings with their JSON paths (not the whole value, which can be huge)."""
    found: list[str] = []
    current: BaseException | None = error
    while current is not None:
        for schema_error in getattr(current, "schema_errors", ()) or ():
            where = "/".join(str(p) for p in getattr(schema_error, "absolute_path", ()))
            found.append(f"at /{where}: {getattr(schema_error, 'message', schema_error)}")
        current = current.__cause__ or current.__context__
    if found:
        return f"{type(error).__name__}: " + "; ".join(found)[:3000]
    return f"{type(error).__name__}: {error}"[:3000]
