"""The exit bundle: everything about a project in one `.tar.zst`, with a manifest of SHA-256 checksums.

Members: `organization.json`, `people.jsonl` (authors and reviewers: id, e-mail, name, role, vendor, skills;
never a password), `workforces.jsonl` (the teams and vendors the project refers to, teams with their members),
`tables/<table>.jsonl` (every row of the project's tables: schema versions, routing rules, items, deletions,
annotations, revisions, reviews, predictions, skips, and quality control's settings, gold answers, exam items
and attempts, scores, aggregates, suspensions and last report), `ledger.jsonl` (the project's slice of the
access ledger: every entry naming the project, with its chain position and hash), `media/<path>` (the files
the items' image fields name) and `manifest.json` last. A restore unpacks into a private directory (names that
could leave it are refused), checks every file against the manifest and refuses the bundle naming the first
file that fails, then writes the rows with their ids unchanged into one transaction, so exports of the restored
project are the same.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
import zstandard
from sqlalchemy.orm import Session

from labelvault import __version__
from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.crypto.media import media_within
from labelvault.errors import Conflict, InvalidInput, NotFound
from labelvault.exports import repository as export_repo
from labelvault.exports import repository_bundle as repo
from labelvault.kit.batches import batched
from labelvault.kit.clock import utcnow
from labelvault.ledger import service as ledger
from labelvault.projects.label_schema import FieldKind
from labelvault.storage import RESERVED_MEDIA, BlobStore, safe_key
from labelvault.workforce import service as workforce

FORMAT = "labelvault-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
COPY = 1 << 20
NOT_INCLUDED = {"leases": "live claims of work; they expire", "jobs": "imports and exports already done"}
LEDGER = "ledger.jsonl"
WORKFORCES = "workforces.jsonl"
# Where a restore keeps the bundle's ledger slice: beside the project's media (sealed with its keys), under a
# name the media routes refuse.
LEDGER_ARCHIVE = "{organization_id}/{project_id}/" + RESERVED_MEDIA + "/ledger-{created}.jsonl"


class BundleRefused(InvalidInput):
    """The bundle is damaged, changed, or holds a name that could leave the restore directory."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message, details={"file": name} if name else None, code="bundle_refused")


@dataclass
class _Member:
    path: Path
    sha256: str
    size: int
    rows: int | None = None


@dataclass
class BundleStats:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


class _HashingWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self, rows: int | None = None) -> _Member:
        self.handle.close()
        return _Member(self.path, self.digest.hexdigest(), self.size, rows)


def _image_fields(schema_rows: list[dict[str, Any]]) -> set[str]:
    return {f["name"] for row in schema_rows for f in row["definition"].get("fields", [])
            if f.get("kind") == FieldKind.image.value}


def write_bundle(session: Session, media: BlobStore, organization_id: str, project_id: str, out: IO[bytes],
                 on_rows: Callable[[int], None] | None = None) -> BundleStats:
    """Write the project's bundle (a zstd-compressed tar) into `out`; read in one snapshot."""
    export_repo.begin_snapshot(session)
    with repo.sorts_on_disk(session):
        return _write_bundle(session, media, organization_id, project_id, out, on_rows)


def _write_bundle(session: Session, media: BlobStore, organization_id: str, project_id: str, out: IO[bytes],
                  on_rows: Callable[[int], None] | None) -> BundleStats:
    org = repo.organization(session, organization_id)
    if org is None:
        raise NotFound("organization")
    stats = BundleStats()
    members: dict[str, _Member] = {}
    with tempfile.TemporaryDirectory(prefix="lv-bundle-") as scratch:
        root = Path(scratch)
        (root / "tables").mkdir()
        person_ids: set[str] = set()
        image_fields: set[str] = set()
        media_paths: dict[str, None] = {}
        done = 0
        for model in repo.PROJECT_MODELS:
            table = repo.table_of(model)
            writer = _HashingWriter(root / "tables" / f"{table.name}.jsonl")
            json_columns = repo.json_columns(table)
            count = 0
            for rows in repo.project_rows(session, model, organization_id, project_id):
                for row in rows:
                    person_ids.update(row[c] for c in repo.PERSON_COLUMNS.get(table.name, ()) if row.get(c))
                    if table.name == "project_schemas":
                        image_fields |= _image_fields([{"definition": orjson.loads(row["definition"])}])
                    elif table.name == "items" and image_fields:
                        data = orjson.loads(row["data"])
                        media_paths.update((data[n], None) for n in image_fields if isinstance(data.get(n), str))
                    for name in json_columns:
                        if row[name] is not None:
                            row[name] = orjson.Fragment(row[name])
                    writer.write(_json(row) + b"\n")
                count += len(rows)
                done += len(rows)
                if on_rows:
                    on_rows(done)
            members[f"tables/{table.name}.jsonl"] = writer.close(count)
            stats.rows[str(table.name)] = count
        if count_of(members, "projects") == 0:
            raise NotFound("project")
        # The teams and vendors of the project's routing rules and of its annotations' authors, with teams'
        # members; vendors' people travel in people.jsonl with their vendor.
        forces = workforce.bundle_workforces(session, organization_id, project_id)
        writer = _HashingWriter(root / WORKFORCES)
        for force in forces:
            person_ids.update(force["members"])
            writer.write(_json(force) + b"\n")
        members[WORKFORCES] = writer.close(len(forces))
        writer = _HashingWriter(root / "people.jsonl")
        people = repo.people(session, organization_id, sorted(person_ids))
        for person in people:
            writer.write(_json(person) + b"\n")
        members["people.jsonl"] = writer.close(len(people))
        writer = _HashingWriter(root / LEDGER)
        entries = 0
        for batch in ledger.project_entries(session, organization_id, project_id):
            for entry in batch:
                writer.write(_json(entry) + b"\n")
            entries += len(batch)
        members[LEDGER] = writer.close(entries)
        stats.rows["ledger_entries"] = entries
        writer = _HashingWriter(root / "organization.json")
        writer.write(_json({"id": org.id, "name": org.name, "slug": org.slug}))
        members["organization.json"] = writer.close()
        _write_archive(out, members, media, f"{organization_id}/{project_id}", list(media_paths), project_id,
                       stats)
    return stats


def count_of(members: dict[str, _Member], table: str) -> int:
    return members[f"tables/{table}.jsonl"].rows or 0


def _write_archive(out: IO[bytes], members: dict[str, _Member], media: BlobStore, prefix: str,
                   media_paths: list[str], project_id: str, stats: BundleStats) -> None:
    compressor = zstandard.ZstdCompressor(level=3)
    with compressor.stream_writer(out, closefd=False) as packed, tarfile.open(fileobj=packed, mode="w|") as tar:
        for name, member in members.items():
            _add(tar, name, member.path.open("rb"), member.size)
            stats.files[name] = {"sha256": member.sha256, "bytes": member.size,
                                 **({"rows": member.rows} if member.rows is not None else {})}
        for path in media_paths:
            key = f"{prefix}/{safe_key(path)}"
            if not media.exists(key):
                continue
            digest = hashlib.sha256()
            name = f"media/{safe_key(path)}"
            size = media.size(key)
            _add(tar, name, _Hashing(media.open_read(key), digest), size)
            stats.files[name] = {"sha256": digest.hexdigest(), "bytes": size}
        manifest = _json({
            "format": FORMAT, "format_version": FORMAT_VERSION, "labelvault_version": __version__,
            "created_at": utcnow().isoformat(), "project_id": project_id,
            "formats": {"tables": "JSON lines, one row per line, columns by name", "media": "as uploaded"},
            "not_included": NOT_INCLUDED, "files": stats.files}) + b"\n"
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(manifest), 0
        tar.addfile(info, _BytesReader(manifest))


class _Hashing:
    def __init__(self, handle: IO[bytes], digest: Any) -> None:
        self.handle, self.digest = handle, digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data

    def close(self) -> None:
        self.handle.close()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk


def _add(tar: tarfile.TarFile, name: str, handle: Any, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o600
    try:
        tar.addfile(info, handle)
    finally:
        handle.close()


# -- restore ---------------------------------------------------------------------------------------------


def _member_path(root: Path, name: str) -> Path:
    """Where a member goes inside `root`; BundleRefused for any name that could land elsewhere."""
    pure = PurePosixPath(name)
    if (not name or "\\" in name or "\x00" in name or pure.is_absolute()
            or any(part in ("", ".", "..") for part in name.split("/"))):
        raise BundleRefused(f"The bundle holds the file name {name!r}, which could leave the restore directory; "
                            "it is refused.", name)
    target = (root / pure).resolve()
    if not target.is_relative_to(root.resolve()):
        raise BundleRefused(f"The bundle's file {name!r} points outside the restore directory; it is refused.", name)
    return target


def unpack(bundle: IO[bytes], root: Path) -> dict[str, Any]:
    """Unpack a bundle into `root`, check every file against the manifest, and return the manifest."""
    digests: dict[str, str] = {}
    try:
        with zstandard.ZstdDecompressor().stream_reader(bundle) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for info in tar:
                target = _member_path(root, info.name)
                if not info.isfile():
                    raise BundleRefused(f"The bundle's entry {info.name!r} is not a regular file; it is refused.",
                                        info.name)
                if info.name in digests:
                    raise BundleRefused(f"The bundle holds {info.name!r} twice; it is refused.", info.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(info)
                assert source is not None
                digest = hashlib.sha256()
                with target.open("wb") as handle:
                    while chunk := source.read(COPY):
                        digest.update(chunk)
                        handle.write(chunk)
                digests[info.name] = digest.hexdigest()
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
        raise BundleRefused(f"The file is not a readable bundle (a .tar.zst): {exc}.") from None
    if MANIFEST not in digests:
        raise BundleRefused("The bundle has no manifest.json.", MANIFEST)
    try:
        manifest: dict[str, Any] = orjson.loads((root / MANIFEST).read_bytes())
    except orjson.JSONDecodeError:
        raise BundleRefused("The bundle's manifest.json is not valid JSON.", MANIFEST) from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BundleRefused(f"This is not a version {FORMAT_VERSION} labelvault bundle.", MANIFEST)
    listed: dict[str, Any] = manifest.get("files") or {}
    for name in sorted(set(listed) | (set(digests) - {MANIFEST})):
        if name not in digests:
            raise BundleRefused(f"The bundle lacks {name}, which its manifest lists.", name)
        if name not in listed:
            raise BundleRefused(f"The bundle holds {name}, which its manifest does not list; it is refused.", name)
        if listed[name].get("sha256") != digests[name]:
            raise BundleRefused(f"{name} fails its SHA-256 checksum: the bundle was changed or damaged.", name)
    return manifest


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


@dataclass
class Restored:
    project_id: str
    organization_id: str
    rows: dict[str, int]
    media: int
    ledger_archive: str | None = None  # the blob key of the archived ledger slice


def _organization_for(session: Session, root: Path, organization_id: str | None) -> str:
    if organization_id is not None:
        if repo.organization(session, organization_id) is None:
            raise NotFound("organization")
        return organization_id
    source = orjson.loads((root / "organization.json").read_bytes())
    if repo.organization(session, source["id"]) is not None:
        return str(source["id"])
    return str(accounts.create_organization(session, source["name"]).id)


def _map_workforces(table: str, row: dict[str, Any], forces: dict[str, str]) -> None:
    """Point a restored row at the teams and vendors as they are here (their ids change only when the same id
    belongs to another organization of this instance)."""
    if table == "routing_rules" and row.get("workforce_id"):
        row["workforce_id"] = forces.get(row["workforce_id"], row["workforce_id"])
    elif table == "annotations" and row.get("vendor_id"):
        row["vendor_id"] = forces.get(row["vendor_id"], row["vendor_id"])
    elif table == "items" and row.get("pool"):
        owner, slash, skill = str(row["pool"]).partition("/")
        row["pool"] = forces.get(owner, owner) + slash + skill


def _people(session: Session, root: Path, organization_id: str,
            forces: dict[str, str] | None = None) -> dict[str, str]:
    """Bundle user id -> user id here: the same id, or the user with the same e-mail, or a new user (without a
    password: restored people sign in after an administrator sets one)."""
    people = list(_lines(root / "people.jsonl"))
    by_email = repo.users_by_email(session, [p["email"] for p in people])
    known = repo.users_by_id(session, [p["id"] for p in people])
    members = repo.member_ids(session, organization_id)
    mapping: dict[str, str] = {}
    for person in people:
        user_id = person["id"] if person["id"] in known else by_email.get(person["email"])
        if user_id is None:
            user_id = accounts.create_user(session, person["email"], None, name=person.get("name") or "",
                                           user_id=person["id"]).id
        mapping[person["id"]] = user_id
        if person.get("role") and user_id not in members:
            vendor = person.get("vendor_id")
            member = accounts.add_member(session, organization_id, user_id, Role(person["role"]),
                                         (forces or {}).get(vendor, vendor) if vendor else None)
            member.skills = list(person.get("skills") or [])
            members.add(user_id)
    return mapping


def _rows(path: Path, target: str, forces: dict[str, str], persons: tuple[str, ...], people: dict[str, str],
          table: str) -> Iterator[dict[str, Any]]:
    """The rows of one table's file, made this instance's (organization, workforces, people)."""
    for row in _lines(path):
        row["organization_id"] = target
        if forces:
            _map_workforces(table, row, forces)
        for column in persons:
            if row.get(column) is not None:
                row[column] = people.get(row[column], row[column])
        yield row


def restore_bundle(session: Session, media: BlobStore, root: Path, manifest: dict[str, Any], *,
                   organization_id: str | None = None, batch: int = 5000) -> Restored:
    """Write an unpacked, checked bundle into this instance (the caller commits)."""
    project_id = str(manifest["project_id"])
    if repo.project_exists(session, project_id):
        raise Conflict(f"Project {project_id} exists in this instance already; a bundle restores a project once.",
                       details={"project_id": project_id})
    target = _organization_for(session, root, organization_id)
    forces = (workforce.restore_workforces(session, target, list(_lines(root / WORKFORCES)))
              if WORKFORCES in manifest.get("files", {}) else {})
    people = _people(session, root, target, forces)
    if WORKFORCES in manifest.get("files", {}):
        workforce.restore_team_members(session, target, list(_lines(root / WORKFORCES)), forces, people)
    rows: dict[str, int] = {}
    for model in repo.PROJECT_MODELS:
        table = repo.table_of(model)
        if f"tables/{table.name}.jsonl" not in manifest.get("files", {}):
            # A bundle made before the table travelled (quality results came later): nothing of it to restore.
            rows[str(table.name)] = 0
            continue
        rows[str(table.name)] = repo.insert_batches(session, model, batched(_rows(
            root / "tables" / f"{table.name}.jsonl", target, forces, repo.PERSON_COLUMNS.get(table.name, ()),
            people, str(table.name)), batch))
    restored_media = 0
    media = media_within(media, session)  # the project's keys are made in this transaction
    for name in manifest.get("files", {}):
        if name.startswith("media/"):
            key = f"{target}/{project_id}/{safe_key(name[len('media/'):])}"
            with (root / name).open("rb") as source, media.open_write(key) as handle:
                shutil.copyfileobj(source, handle, COPY)
            media.commit(key)
            restored_media += 1
    archive = None
    if LEDGER in manifest.get("files", {}):
        created = "".join(c for c in str(manifest.get("created_at", "")) if c.isalnum()) or "unknown"
        archive = LEDGER_ARCHIVE.format(organization_id=target, project_id=project_id, created=created)
        with (root / LEDGER).open("rb") as source, media.open_write(archive) as handle:
            shutil.copyfileobj(source, handle, COPY)
        media.commit(archive)
        rows["ledger_entries"] = int(manifest["files"][LEDGER].get("rows") or 0)
    session.flush()
    return Restored(project_id, target, rows, restored_media, archive)
