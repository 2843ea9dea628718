"""A node's Ed25519 identity: key file handling, signing, and the node id derived from the public key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from llamanet_common.errors import IdentityError

NODE_ID_BYTES = 20


def node_id_for_public_key(public_key: bytes) -> str:
    """Hex of the first 20 bytes of sha256(public key): also a valid 160-bit Kademlia id."""
    return hashlib.sha256(public_key).digest()[:NODE_ID_BYTES].hex()


def verify_signature(public_key_hex: str, data: bytes, signature_hex: str) -> bool:
    """True if ``signature_hex`` is a valid Ed25519 signature of ``data`` by ``public_key_hex``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), data)
    except (ValueError, InvalidSignature):
        return False
    return True


class NodeIdentity:
    """An Ed25519 key pair and the node id derived from it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )
        self.public_key_hex: str = raw.hex()
        self.node_id: str = node_id_for_public_key(raw)

    @property
    def node_id_bytes(self) -> bytes:
        return bytes.fromhex(self.node_id)

    @classmethod
    def generate(cls) -> NodeIdentity:
        """A fresh, ephemeral identity."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path | None) -> NodeIdentity:
        """Load the key at ``path``, creating it (mode 0600) if missing; ``None`` gives an ephemeral key."""
        if path is None:
            return cls.generate()
        if path.exists():
            return cls._load(path)
        identity = cls.generate()
        identity._save(path)
        return identity

    @classmethod
    def load(cls, path: Path) -> NodeIdentity:
        """Load the key at ``path``; ``IdentityError`` when it is missing or not an Ed25519 key (never
        creates one: for keys another party made, such as a swarm authority's)."""
        if not path.is_file():
            raise IdentityError(f"no key file {path}")
        return cls._load(path)

    @classmethod
    def _load(cls, path: Path) -> NodeIdentity:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise IdentityError(f"cannot read node key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityError(f"node key {path} is not an Ed25519 private key")
        return cls(key)

    def _save(self, path: Path) -> None:
        pem = self._private_key.private_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        except OSError as exc:
            raise IdentityError(f"cannot create node key {path}: {exc}") from exc

    def sign(self, data: bytes) -> str:
        """Hex Ed25519 signature of ``data``."""
        return self._private_key.sign(data).hex()

    def verify(self, data: bytes, signature_hex: str) -> bool:
        return verify_signature(self.public_key_hex, data, signature_hex)
