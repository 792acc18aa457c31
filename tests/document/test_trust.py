"""What the trust in a chip rests on: the CSCA's country against the MRZ's issuing state, and a
master list's own signature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from impostor.document import sod
from impostor.document.sod import MASTER_LIST, _MasterList
from impostor.errors import DocumentError
from tests.card import virtual
from tests.document import signing


def csca_of(country: str) -> signing.Authority:
    """A self-signed CSCA of ``country`` (signing.authority's are all of Peru)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.COMMON_NAME, "CSCA")]
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return signing.Authority(key, certificate)


def _chain(state: str, csca: signing.Authority) -> sod.Step:
    groups = {1: virtual.dg1(virtual.td3_mrz(nationality=state.ljust(3, "<"))), 2: b"\x75\x00"}
    security = signing.security_object(groups, signing.authority("DS", csca))
    return sod.authenticate(security, groups, csca=[csca.certificate]).step("chain")


@pytest.mark.parametrize(("state", "country"), [("PER", "PE"), ("D", "DE"), ("GBN", "GB"), ("UTO", None)])
def test_the_chain_passes_only_under_the_csca_of_the_issuing_state(state: str, country: str | None) -> None:
    if country is not None:
        assert _chain(state, csca_of(country)).status == "passed"
    wrong = _chain(state, csca_of("BR"))
    assert wrong.status == "failed"
    assert f"issued by {state}" in wrong.detail and "is of BR" in wrong.detail


def test_without_a_readable_dg1_the_state_is_not_compared() -> None:
    csca = csca_of("BR")
    groups = {2: b"\x75\x00"}
    security = signing.security_object(groups, signing.authority("DS", csca))
    step = sod.authenticate(security, groups, csca=[csca.certificate]).step("chain")
    assert step.status == "passed" and "not compared" in step.detail


def test_a_master_list_whose_signature_fails_is_refused(tmp_path: Path) -> None:
    peru, signer = signing.authority("CSCA Peru"), signing.authority("Master list signer")
    good = tmp_path / "good.ml"
    good.write_bytes(signing.master_list([peru], signer))
    assert [c.subject for c in sod.load_csca(good)] == [peru.certificate.subject]
    # a forger's CSCA slipped into the list after it was signed
    info = cms.ContentInfo.load(good.read_bytes())
    listed = _MasterList(
        {"version": 0, "certificates": [asn1_x509.Certificate.load(c.der) for c in (peru, csca_of("PE"))]}
    )
    info["content"]["encap_content_info"] = {"content_type": MASTER_LIST, "content": listed.dump()}
    altered = tmp_path / "altered.ml"
    altered.write_bytes(info.dump(force=True))
    with pytest.raises(DocumentError, match="master list's own signature fails"):
        sod.load_csca(altered)
    # a list whose signer certificate is not the one that signed it
    info = cms.ContentInfo.load(good.read_bytes())
    info["content"]["certificates"] = [
        asn1_x509.Certificate.load(signing.authority("Master list signer").der)
    ]
    swapped = tmp_path / "swapped.ml"
    swapped.write_bytes(info.dump(force=True))
    with pytest.raises(DocumentError, match="master list"):
        sod.load_csca(swapped)
