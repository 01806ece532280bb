"""Key rotation and crypto-shred, as the administrative commands run them on the local database."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from labelvault.crypto import repository as repo
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import Envelope
from labelvault.db.engine import transaction
from labelvault.errors import NotFound


@dataclass
class KekRotation:
    kek_id: str
    rewrapped: int = 0
    removed: list[str] = field(default_factory=list)


def rotate_kek(factory: sessionmaker[Session], provider: LocalKeyProvider, *, remove_old: bool = False,
               batch: int = 500) -> KekRotation:
    """Make a new key-encryption key current and re-wrap every data key with it, one batch per transaction, so
    servers keep reading throughout (a data key opens under whichever KEK wraps it). With `remove_old`, KEK
    files that no longer wrap anything are deleted afterwards (keep them while older database backups may be
    restored)."""
    rotation = KekRotation(provider.add_kek())
    envelope = Envelope(provider, cache_seconds=0)
    while True:
        with transaction(factory) as session:
            done = envelope.rewrap(session, batch)
        rotation.rewrapped += done
        if done == 0:
            break
    if remove_old:
        with transaction(factory, write=False) as session:
            in_use = repo.kek_ids_in_use(session)
        for kek_id in provider.kek_ids():
            if kek_id != rotation.kek_id and kek_id not in in_use:
                provider.remove_kek(kek_id)
                rotation.removed.append(kek_id)
    return rotation


def _organization_of(session: Session, project_id: str) -> str:
    organization_id = repo.project_organization(session, project_id)
    if organization_id is None:
        raise NotFound("project")
    return organization_id


def rotate_project_key(session: Session, envelope: Envelope, project_id: str) -> int:
    """A new data key version for the project's new content; content sealed before stays readable. Servers take
    the new version for new writes within their key cache time. Returns the new version."""
    return envelope.rotate_data_key(session, _organization_of(session, project_id), project_id)


def shred_project(session: Session, envelope: Envelope, project_id: str) -> int:
    """Destroy the project's data keys: its items, annotations and media can never be decrypted again, wherever
    copies of them live. Returns how many keys were destroyed."""
    return envelope.shred(session, _organization_of(session, project_id), project_id)
