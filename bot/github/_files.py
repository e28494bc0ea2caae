"""Reading a folder of a ref in a bounded number of API calls, whatever its number of files.

One recursive tree lists the folder (when GitHub truncates it, the walk goes down the folder's own
subtrees instead). Blobs are cached by sha, in a bounded LRU shared by every ref and repository:
the same file at another ref is not fetched again. At most `blob_fetch_limit` missing blobs are
fetched one by one; when more are missing (a first read of a long history), the ref's tarball is
read once and the folder's files are taken from it, each checked against the tree's sha.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import requests
from github.Repository import Repository

from ._calls import Calls
from .errors import GitHubError, GitHubNotFound

TREE_CACHE_SIZE = 256


def blob_sha(data: bytes) -> str:
    """The id git gives a file's content (SHA-1 of `blob <size>\\0` and the bytes)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class BlobCache:
    """Blob contents by sha, least recently used out first once `capacity` bytes are held."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha: str) -> bytes | None:
        with self._lock:
            data = self._items.get(sha)
            if data is not None:
                self._items.move_to_end(sha)
            return data

    def put(self, sha: str, data: bytes) -> None:
        with self._lock:
            if sha in self._items or len(data) > self._capacity:
                return
            self._items[sha] = data
            self._size += len(data)
            while self._size > self._capacity:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


class FolderReader:
    """`read` returns {path relative to the folder: bytes}; see the module docstring."""

    def __init__(self, calls: Calls, cache: BlobCache, fetch_limit: int, timeout_s: int) -> None:
        self._calls = calls
        self._cache = cache
        self._fetch_limit = fetch_limit
        self._timeout = timeout_s
        self._listings: OrderedDict[tuple[str, str, str], dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, repo: Repository, name: str, ref: str, folder: str,
             include: Callable[[str], bool] | None) -> dict[str, bytes]:
        folder = folder.strip("/")
        listing = self._listing(repo, name, ref, folder)
        wanted = {path: sha for path, sha in listing.items() if include is None or include(path)}
        found: dict[str, bytes] = {}
        for sha in set(wanted.values()):
            data = self._cache.get(sha)
            if data is not None:
                found[sha] = data
        missing = sorted(set(wanted.values()) - found.keys())
        if len(missing) > self._fetch_limit:
            found.update(self._from_archive(repo, name, ref, folder, set(missing)))
            missing = sorted(set(wanted.values()) - found.keys())
        for sha in missing:
            blob = self._calls.once(f"reading blob {sha} of {name}", partial(repo.get_git_blob, sha), repo.requester)
            found[sha] = _decode(blob.content, blob.encoding, name, sha)
            self._cache.put(sha, found[sha])
        return {path: found[sha] for path, sha in sorted(wanted.items())}

    def _listing(self, repo: Repository, name: str, ref: str, folder: str) -> dict[str, str]:
        """{relative path: blob sha} of the files below `folder`; cached for a commit sha."""
        key = (name, ref, folder)
        with self._lock:
            if key in self._listings:
                self._listings.move_to_end(key)
                return self._listings[key]
        tree = self._tree(repo, name, ref, recursive=True)
        prefix = f"{folder}/" if folder else ""
        if not tree.truncated:
            listing = {e.path[len(prefix):]: e.sha for e in tree.tree
                       if e.type == "blob" and e.path.startswith(prefix)}
        else:
            listing = self._walk(repo, name, ref, folder)
        if _is_sha(ref):
            with self._lock:
                self._listings[key] = listing
                while len(self._listings) > TREE_CACHE_SIZE:
                    self._listings.popitem(last=False)
        return listing

    def _walk(self, repo: Repository, name: str, ref: str, folder: str) -> dict[str, str]:
        """The listing when the whole tree was too large: down to the folder one level at a time,
        then the folder's tree (recursive, or level by level if that is truncated too)."""
        sha = ref
        for part in [p for p in folder.split("/") if p]:
            entry = next((e for e in self._tree(repo, name, sha, recursive=False).tree
                          if e.path == part and e.type == "tree"), None)
            if entry is None:
                return {}
            sha = entry.sha
        tree = self._tree(repo, name, sha, recursive=True)
        if not tree.truncated:
            return {e.path: e.sha for e in tree.tree if e.type == "blob"}
        listing: dict[str, str] = {}
        pending = [("", sha)]
        while pending:
            prefix, tree_sha = pending.pop()
            for entry in self._tree(repo, name, tree_sha, recursive=False).tree:
                if entry.type == "blob":
                    listing[prefix + entry.path] = entry.sha
                elif entry.type == "tree":
                    pending.append((f"{prefix}{entry.path}/", entry.sha))
        return listing

    def _tree(self, repo: Repository, name: str, sha: str, recursive: bool) -> Any:
        return self._calls.once(
            f"listing the tree {sha} of {name}", lambda: repo.get_git_tree(sha, recursive=recursive),
            repo.requester, not_found=f"No commit, branch or tree {sha} in {name}",
        )

    def _from_archive(self, repo: Repository, name: str, ref: str, folder: str,
                      missing: set[str]) -> dict[str, bytes]:
        """The missing blobs, taken from the ref's tarball (two requests whatever their number)."""
        location = self._calls.once(f"locating the archive of {name} at {ref}",
                                    lambda: repo.get_archive_link("tarball", ref), repo.requester)

        def download() -> bytes:
            response = requests.get(location, timeout=self._timeout, allow_redirects=True)
            if response.status_code == 404:
                raise GitHubNotFound(f"downloading the archive of {name} at {ref}: GitHub answered 404",
                                     status=404)
            if response.status_code >= 400:
                raise GitHubError(f"downloading the archive of {name} at {ref}: GitHub answered "
                                  f"{response.status_code}", status=response.status_code)
            return response.content

        archive = self._calls.once(f"downloading the archive of {name} at {ref}", download)
        found: dict[str, bytes] = {}
        prefix = f"{folder}/" if folder else ""
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                _, _, path = member.name.partition("/")  # the archive's root folder is <owner>-<repo>-<sha>
                if not path.startswith(prefix):
                    continue
                extracted = tar.extractfile(member)
                if extracted is None:
                    continue
                data = extracted.read()
                sha = blob_sha(data)
                if sha in missing:
                    found[sha] = data
                    self._cache.put(sha, data)
        return found


def _decode(content: str, encoding: str, repo: str, sha: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(content)
    if encoding in ("utf-8", "utf8"):
        return content.encode()
    raise GitHubError(f"reading blob {sha} of {repo}: GitHub sent it in an unknown encoding {encoding!r}")


def _is_sha(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)
