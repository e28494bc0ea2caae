"""Write the part of GitHub's published OpenAPI description that the fake GitHub serves.

GitHub publishes its REST API as an OpenAPI description in the npm package `@octokit/openapi`
(`generated/api.github.com.json`, about 13 MB). The fake validates every request it receives, and
every response it gives, against the operations listed in `OPERATIONS` below; this script keeps
those operations and every component they reference (the `$ref` closure), so the committed file
stays small. Run it after adding an endpoint to the fake:

    python tests/fake_github/make_openapi_subset.py [--version 23.0.2]

It installs the package with npm into a temporary folder (nothing is left behind) and rewrites
`bot/fake_github/api.github.com.subset.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
OUTPUT = Path(__file__).resolve().parents[2] / "bot" / "fake_github" / "api.github.com.subset.json"

OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/app"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/user"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("get", "/repos/{owner}/{repo}/git/blobs/{file_sha}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/tarball/{ref}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
)
"""(method, path template) of every REST operation the fake GitHub implements."""

EXTRA_COMPONENTS = ("#/components/schemas/basic-error",)
"""Components kept although no kept operation names them: the body of an error GitHub answers
with a status the description does not list for that operation (5xx, rate limits)."""


def subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The description reduced to `OPERATIONS` and the components they reference."""
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = spec["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
    components: dict[str, dict[str, Any]] = {}
    pending = [*_refs(paths), *EXTRA_COMPONENTS]
    while pending:
        ref = pending.pop()
        _, _, section, name = ref.split("/", 3)
        if name in components.get(section, {}):
            continue
        value = spec["components"][section][name]
        components.setdefault(section, {})[name] = value
        pending.extend(_refs(value))
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "x-subset-of": f"{PACKAGE}@{spec['info']['version']}"},
        "servers": spec["servers"],
        "paths": dict(sorted(paths.items())),
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def download(version: str) -> dict[str, Any]:
    """GitHub's full description from the npm package, installed into a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", folder,
             f"{PACKAGE}@{version}"],
            check=True, stdout=subprocess.DEVNULL,
        )
        path = Path(folder) / "node_modules" / PACKAGE / "generated" / "api.github.com.json"
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION, help=f"version of {PACKAGE} (default {VERSION})")
    args = parser.parse_args(argv)
    reduced = subset(download(args.version))
    OUTPUT.write_text(json.dumps(reduced, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    sizes = {section: len(items) for section, items in reduced["components"].items()}
    print(f"{OUTPUT.name}: {len(OPERATIONS)} operations, components {sizes}, "
          f"{OUTPUT.stat().st_size // 1024} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
