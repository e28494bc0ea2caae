"""The fake GitHub's object store: blobs, trees and commits hashed exactly as git hashes them.

Real SHA-1 object ids matter to the client under test: it caches blobs by their sha, so the same
file at two refs must have the same id, and a changed file a new one, as on GitHub.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

TREE_MODE = "040000"
FILE_MODE = "100644"


def git_sha(kind: str, data: bytes) -> str:
    """The object id git gives `data` stored as `kind` (blob, tree, commit)."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str
    type: str  # "blob" | "tree"
    sha: str


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author: str
    timestamp: int


class ObjectStore:
    """Blobs, trees and commits of every repository (a fork network shares one store, as on
    GitHub); thread-safe, append-only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, tuple[TreeEntry, ...]] = {}
        self.commits: dict[str, Commit] = {}

    def write_blob(self, data: bytes) -> str:
        sha = git_sha("blob", data)
        with self._lock:
            self.blobs[sha] = data
        return sha

    def write_tree(self, files: Mapping[str, bytes]) -> str:
        """The root tree holding `files` (relative POSIX path -> content)."""
        children: dict[str, dict[str, bytes]] = {}
        entries: list[TreeEntry] = []
        for path, data in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = data
            else:
                entries.append(TreeEntry(head, FILE_MODE, "blob", self.write_blob(data)))
        for name, below in children.items():
            entries.append(TreeEntry(name, TREE_MODE, "tree", self.write_tree(below)))
        # git orders tree entries by name, a tree's name compared as if it ended with "/"
        entries.sort(key=lambda e: e.name + ("/" if e.type == "tree" else ""))
        raw = b"".join(
            f"{e.mode.lstrip('0')} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in entries
        )
        sha = git_sha("tree", raw)
        with self._lock:
            self.trees[sha] = tuple(entries)
        return sha

    def write_commit(self, tree: str, parents: tuple[str, ...], message: str, author: str,
                     timestamp: int) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents),
                 f"author {author} <{author}@users.noreply.github.com> {timestamp} +0000",
                 f"committer {author} <{author}@users.noreply.github.com> {timestamp} +0000",
                 "", message]
        sha = git_sha("commit", "\n".join(lines).encode())
        with self._lock:
            self.commits[sha] = Commit(sha, tree, parents, message, author, timestamp)
        return sha

    def walk(self, tree: str, prefix: str = "", recursive: bool = True) -> Iterator[tuple[str, TreeEntry]]:
        """(path, entry) of a tree, parents before their contents, like GitHub's tree listing."""
        for entry in self.trees[tree]:
            path = f"{prefix}{entry.name}"
            yield path, entry
            if recursive and entry.type == "tree":
                yield from self.walk(entry.sha, f"{path}/", recursive)

    def files(self, tree: str) -> dict[str, bytes]:
        """Every file of a tree: relative path -> content."""
        return {path: self.blobs[e.sha] for path, e in self.walk(tree) if e.type == "blob"}

    def entry_at(self, tree: str, path: str) -> TreeEntry | None:
        """The entry at `path` below `tree` (None when there is none)."""
        current: TreeEntry | None = TreeEntry("", TREE_MODE, "tree", tree)
        for part in [p for p in path.split("/") if p]:
            if current is None or current.type != "tree":
                return None
            current = next((e for e in self.trees[current.sha] if e.name == part), None)
        return current
