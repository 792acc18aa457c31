"""A country signing CA, a document signer and an EF.SOD of our own, made with cryptography and
asn1crypto, for the chain step that the shared test chips (whose CSCAs are not published) cannot
exercise."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from impostor.document.sod import LDS_SECURITY_OBJECT, MASTER_LIST, _LdsSecurityObject, _MasterList


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def _name(common: str, country: str = "PE") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def authority(common: str, issuer: Authority | None = None, country: str = "PE") -> Authority:
    """A certificate for ``common`` of ``country``: self-signed (a CSCA) or signed by ``issuer`` (a
    signer, whose country is the issuer's)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common, country))
        .issuer_name(issuer.certificate.subject if issuer else _name(common, country))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
    )
    signer = issuer.key if issuer else key
    return Authority(key, builder.sign(signer, hashes.SHA256()))


def _signed_data(content_type: str, content: bytes, signer: Authority) -> bytes:
    attributes = cms.CMSAttributes([
        {"type": "content_type", "values": [content_type]},
        {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
    ])  # fmt: skip
    signature = signer.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
    certificate = asn1_x509.Certificate.load(signer.der)
    signed = cms.SignedData({
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": content_type, "content": content},
        "certificates": [certificate],
        "signer_infos": [{
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": certificate.issuer, "serial_number": certificate.serial_number,
            }}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }],
    })  # fmt: skip
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + value


def security_object(groups: dict[int, bytes], signer: Authority) -> bytes:
    """An EF.SOD over ``groups`` (number → file), signed by ``signer``."""
    lds = _LdsSecurityObject({
        "version": 0,
        "hash_algorithm": {"algorithm": "sha256"},
        "hashes": [{"number": n, "value": hashlib.sha256(d).digest()} for n, d in sorted(groups.items())],
    })  # fmt: skip
    return _tlv(0x77, _signed_data(LDS_SECURITY_OBJECT, lds.dump(), signer))


def master_list(cscas: list[Authority], signer: Authority) -> bytes:
    """An ICAO master list of ``cscas``, signed by ``signer``."""
    listed = _MasterList({
        "version": 0,
        "certificates": [asn1_x509.Certificate.load(csca.der) for csca in cscas],
    })  # fmt: skip
    return _signed_data(MASTER_LIST, listed.dump(), signer)


__all__ = ["Authority", "authority", "core", "master_list", "security_object"]
