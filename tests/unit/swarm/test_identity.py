import hashlib
import stat
from pathlib import Path

import pytest

from llamanet_common.errors import IdentityError
from llamanet_common.identity import NodeIdentity, node_id_for_public_key, verify_signature


def test_key_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.key"
    first = NodeIdentity.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = NodeIdentity.load_or_create(path)
    assert again.node_id == first.node_id
    assert again.public_key_hex == first.public_key_hex


def test_ephemeral_identities_differ() -> None:
    assert NodeIdentity.load_or_create(None).node_id != NodeIdentity.load_or_create(None).node_id


def test_node_id_is_first_20_bytes_of_sha256_of_public_key(identity: NodeIdentity) -> None:
    expected = hashlib.sha256(bytes.fromhex(identity.public_key_hex)).digest()[:20].hex()
    assert identity.node_id == expected == node_id_for_public_key(bytes.fromhex(identity.public_key_hex))
    assert len(identity.node_id_bytes) == 20


def test_sign_and_verify(identity: NodeIdentity) -> None:
    signature = identity.sign(b"hello")
    assert identity.verify(b"hello", signature)
    assert not identity.verify(b"hellO", signature)
    assert not verify_signature(NodeIdentity.generate().public_key_hex, b"hello", signature)
    assert not verify_signature("zz", b"hello", signature)


def test_corrupt_key_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    path.write_text("not a key")
    with pytest.raises(IdentityError):
        NodeIdentity.load_or_create(path)
