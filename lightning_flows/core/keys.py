"""Encryption key checks and rotation over every encrypted column of the platform.

`check_keys` finds stored values no configured key can decrypt (a wrong key,
or a rotated key removed too early) so the platform refuses to start instead
of failing on every run. `reencrypt` rewrites every value not yet under the
primary key (`lightning-flows credentials reencrypt`), in batches, so old keys
can then be dropped from `LIGHTNING_ENCRYPTION_OLD_KEYS`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Table, Text, and_, func, literal, select, type_coerce, update
from sqlalchemy.engine import Engine

from lightning_flows.core.crypto import Cipher, DecryptionError, EncryptedJSON, EncryptedString
from lightning_flows.core.errors import ConfigurationError

_BATCH = 500


def encrypted_columns() -> Iterator[tuple[Table, Column[object]]]:
    """Every (table, column) holding an encrypted value, from the models' metadata."""
    from lightning_flows.models import metadata

    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedJSON | EncryptedString):
                yield table, column


def stored_key_ids(engine: Engine) -> dict[str, set[str]]:
    """The key ids found in each encrypted column (`v1:<key id>:...`)."""
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for table, column in encrypted_columns():
            raw = type_coerce(column, Text())
            rows = conn.execute(
                select(func.substr(raw, 4, 8)).where(column.is_not(None)).distinct()
            ).all()
            found[f"{table.name}.{column.name}"] = {str(row[0]) for row in rows}
    return found


def check_keys(engine: Engine, cipher: Cipher) -> None:
    """Raise ConfigurationError if stored secrets use a key that is not configured."""
    unknown: dict[str, set[str]] = {}
    for where, ids in stored_key_ids(engine).items():
        missing = ids - cipher.key_ids
        if missing:
            unknown[where] = missing
    if unknown:
        found = ", ".join(f"{w} (key id {', '.join(sorted(ids))})" for w, ids in unknown.items())
        raise ConfigurationError(
            f"The configured encryption keys cannot decrypt stored secrets in {found}; the "
            f"primary key's id is {cipher.primary_id}. Set LIGHTNING_ENCRYPTION_KEY to the key "
            "they were written with, or add it to LIGHTNING_ENCRYPTION_OLD_KEYS and run "
            "`lightning-flows credentials reencrypt`."
        )


def reencrypt(engine: Engine, cipher: Cipher) -> dict[str, int]:
    """Rewrite every value not under the primary key; returns the count per column."""
    counts: dict[str, int] = {}
    for table, column in encrypted_columns():
        key = list(table.primary_key.columns)
        raw = type_coerce(column, Text())
        done = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(*key, raw.label("raw"))
                    .where(
                        column.is_not(None),
                        func.substr(raw, 4, 8) != cipher.primary_id,
                    )
                    .limit(_BATCH)
                ).all()
                for row in rows:
                    try:
                        fresh = cipher.encrypt(cipher.decrypt(row.raw))
                    except DecryptionError as exc:
                        raise ConfigurationError(
                            f"{table.name}.{column.name}: a value cannot be decrypted ({exc}); "
                            "add the key it was written with to LIGHTNING_ENCRYPTION_OLD_KEYS."
                        ) from exc
                    match = and_(*(c == row._mapping[c.name] for c in key))
                    conn.execute(
                        update(table).where(match).values({column.name: literal(fresh, Text())})
                    )
            done += len(rows)
            if len(rows) < _BATCH:
                break
        counts[f"{table.name}.{column.name}"] = done
    return counts
