"""Write the webhook payloads the tests replay, from GitHub's examples (`@octokit/webhooks-examples`).

    python tests/fake_github/make_webhook_examples.py [--version 7.6.1]

installs the package with npm into a temporary folder and rewrites `bot/fake_github/examples/`:
one file per event and action the bot handles (`pull_request.opened.json`, ..., `push.json`).
For each, the first example delivered to an App (it carries `installation`) is taken. The package
has no example of `edited` nor of a merged `closed`: those two are made from the `opened` and
`closed` examples by changing values only, plus the `changes` object GitHub documents for
`edited` (`changes.base.ref.from`, `changes.base.sha.from` when the base branch changed).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/webhooks-examples"
VERSION = "7.6.1"
OUTPUT = Path(__file__).resolve().parents[2] / "bot" / "fake_github" / "examples"
PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review", "closed", "labeled", "unlabeled")


def select(events: list[dict[str, Any]]) -> dict[str, Any]:
    """{file name: payload} for every event and action the bot handles."""
    examples = {event["name"]: event["examples"] for event in events}

    def first(name: str, action: str | None) -> dict[str, Any]:
        candidates = [e for e in examples[name] if e.get("action") == action]
        chosen = next((e for e in candidates if "installation" in e and e.get("commits", [1])), candidates[0])
        return copy.deepcopy(chosen)

    chosen = {f"pull_request.{action}": first("pull_request", action) for action in PULL_REQUEST_ACTIONS}
    closed = chosen.pop("pull_request.closed")
    chosen["pull_request.closed.unmerged"] = copy.deepcopy(closed)
    merged = closed
    merged["pull_request"].update(merged=True, merged_at=merged["pull_request"]["closed_at"],
                                  merge_commit_sha="c4295bd74fb0f4fe1e0a52bf9f9ecd3d2b2bca1f",
                                  merged_by=copy.deepcopy(merged["sender"]))
    chosen["pull_request.closed.merged"] = merged
    edited = first("pull_request", "opened")
    edited["action"] = "edited"
    edited["changes"] = {"base": {"ref": {"from": "develop"},
                                  "sha": {"from": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}}}
    chosen["pull_request.edited"] = edited
    pushes = [e for e in examples["push"] if e["ref"].startswith("refs/heads/") and e["commits"]]
    chosen["push"] = copy.deepcopy(next(e for e in pushes if "installation" in e))
    return dict(sorted(chosen.items()))


def download(version: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", folder,
                        f"{PACKAGE}@{version}"], check=True, stdout=subprocess.DEVNULL)
        path = Path(folder) / "node_modules" / PACKAGE / "api.github.com" / "index.json"
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args(argv)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name, payload in select(download(args.version)).items():
        (OUTPUT / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(list(OUTPUT.glob('*.json')))} payloads to {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
