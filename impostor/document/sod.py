"""Passive authentication (ICAO 9303 part 11 §5): are the chip's files the ones the issuer signed?

EF.SOD (tag ``77``) is a CMS SignedData whose content is the LDS security object: a hash of
each data group. Three steps, each reported as passed, failed or not done:

1. **hashes**: each data group given is hashed and compared with EF.SOD's value; a data group
   EF.SOD does not list fails, and so does a mandatory one (DG1, DG2) that EF.SOD lists but was
   not given: leaving a file out must not leave it unchecked;
2. **signature**: the signed attributes' message digest is the content's hash, and the
   document signer's signature over them verifies with the certificate inside EF.SOD;
3. **chain**: that certificate is signed by a country signing CA (CSCA) the user trusts, given
   as certificates (PEM or DER) or an ICAO master list; without one this step is not done.

Certificate validity dates are reported, not enforced: test documents are signed by long-expired
test CAs, and a genuine passport outlives its signer's certificate by design.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ecdsa
from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from impostor.document import tlv
from impostor.errors import DocumentError
from impostor.files import max_file_bytes, read_bounded, why_unreadable

__all__ = [
    "MANDATORY_GROUPS",
    "Authentication",
    "SecurityObject",
    "Step",
    "authenticate",
    "load_csca",
    "trusted_cscas",
    "read_sod",
]

LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
MASTER_LIST = "2.23.136.1.1.2"
PASSED, FAILED, NOT_DONE = "passed", "failed", "not done"
# what became of one data group: its hash matched, differed, was not listed in EF.SOD, or the
# group is listed but was not given (not read from the chip)
MATCHED, DIFFERS, NOT_LISTED, ABSENT = "matched", "differs", "not listed", "absent"
# every eMRTD carries DG1 (the MRZ) and DG2 (the portrait) (ICAO 9303 part 10); the others are
# optional or access-controlled (DG3, DG4), so a reader may not have read them
MANDATORY_GROUPS = (1, 2)
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _DataGroupHash(core.Sequence):
    _fields = [("number", core.Integer), ("value", core.OctetString)]


class _DataGroupHashes(core.SequenceOf):
    _child_spec = _DataGroupHash


class _LdsSecurityObject(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("hashes", _DataGroupHashes),
        ("lds_version_info", core.Any, {"optional": True}),
    ]


class _CertificateSet(core.SetOf):
    _child_spec = asn1_x509.Certificate


class _MasterList(core.Sequence):
    _fields = [("version", core.Integer), ("certificates", _CertificateSet)]


@dataclass(frozen=True)
class Step:
    """One step of passive authentication: ``passed``, ``failed`` or ``not done``, and why."""

    name: str
    status: str
    detail: str


@dataclass(frozen=True)
class SecurityObject:
    """What EF.SOD holds: the hash algorithm, each data group's hash, the signed content."""

    hash_algorithm: str
    hashes: dict[int, bytes]
    signed_data: cms.SignedData
    signer: x509.Certificate | None


@dataclass(frozen=True)
class Authentication:
    """The outcome of passive authentication, step by step."""

    hash_algorithm: str
    steps: tuple[Step, ...]
    signer: str  # the document signer's subject, "" when EF.SOD carries no certificate
    signer_valid: str  # its certificate's validity period, for the record
    groups: dict[int, str] = field(default_factory=dict)  # data group → MATCHED, DIFFERS …

    def verified(self, group: int) -> bool:
        """Whether data group ``group`` is the one the issuer signed: its hash matched and the
        signature over the hashes verified (the chain may still be unchecked)."""
        return self.groups.get(group) == MATCHED and self.step("signature").status == PASSED

    @property
    def passed(self) -> bool:
        """True when no step failed (steps not done do not count against it)."""
        return all(step.status != FAILED for step in self.steps)

    def step(self, name: str) -> Step:
        """The step named ``name``; raises StopIteration when the authentication has no such step."""
        return next(step for step in self.steps if step.name == name)


def _signed_data(data: bytes, label: str, content_type: str) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            raise DocumentError(f"{label}: not a CMS SignedData")
        signed = info["content"]
        found = signed["encap_content_info"]["content_type"].dotted
    except (ValueError, TypeError, KeyError) as exc:
        raise DocumentError(f"{label}: not a CMS SignedData ({_first_line(exc)})") from None
    if found != content_type:
        raise DocumentError(f"{label}: signs content of type {found}, not {content_type}")
    return signed


def read_sod(data: bytes, label: str = "EF.SOD") -> SecurityObject:
    """Parse EF.SOD: its data group hashes and the signed structure they came in.

    Raises :class:`DocumentError` for a file that is not an EF.SOD (wrong tag, not CMS, not a
    security object, a hash algorithm this machine does not know).
    """
    signed = _signed_data(tlv.one(data, 0x77, label).value, label, LDS_SECURITY_OBJECT)
    try:
        security = _LdsSecurityObject.load(bytes(signed["encap_content_info"]["content"].native))
        algorithm = security["hash_algorithm"]["algorithm"].native
        found = {int(entry["number"].native): bytes(entry["value"].native) for entry in security["hashes"]}
        certificates = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    except (ValueError, TypeError, KeyError) as exc:
        raise DocumentError(f"{label}: the security object cannot be read ({_first_line(exc)})") from None
    if algorithm not in hashlib.algorithms_available:
        raise DocumentError(f"{label}: hashes with {algorithm}, which this machine cannot compute")
    try:
        signer = x509.load_der_x509_certificate(certificates[0].dump()) if certificates else None
    except ValueError as exc:
        raise DocumentError(
            f"{label}: the document signer's certificate cannot be read ({_first_line(exc)})"
        ) from None
    return SecurityObject(algorithm, found, signed, signer)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _name(certificate: x509.Certificate, which: str) -> str:
    """A certificate's subject or issuer as text; a name that does not parse says so."""
    try:
        return str(getattr(certificate, which).rfc4514_string())
    except ValueError:
        return f"(an unreadable {which})"


def _group_results(security: SecurityObject, groups: dict[int, bytes]) -> dict[int, str]:
    """What became of each data group given or listed (``MATCHED``, ``DIFFERS`` …)."""
    results = {number: ABSENT for number in security.hashes if number not in groups}
    for number, data in groups.items():
        expected = security.hashes.get(number)
        if expected is None:
            results[number] = NOT_LISTED
        else:
            matched = hashlib.new(security.hash_algorithm, data).digest() == expected
            results[number] = MATCHED if matched else DIFFERS
    return dict(sorted(results.items()))


def _hash_step(results: dict[int, str], algorithm: str) -> Step:
    def named(status: str, numbers: tuple[int, ...] | None = None) -> list[str]:
        return [f"DG{n}" for n, s in results.items() if s == status and (numbers is None or n in numbers)]

    if not any(status != ABSENT for status in results.values()):
        return Step("hashes", NOT_DONE, "no data group was given")
    failed, missing = named(DIFFERS), named(NOT_LISTED)
    absent, unread = named(ABSENT, MANDATORY_GROUPS), named(ABSENT)
    what = [f"{', '.join(failed)} differ from what was signed"] if failed else []
    what += [f"{', '.join(missing)} not listed in EF.SOD"] if missing else []
    what += [f"{', '.join(absent)} listed in EF.SOD but not given, so not checked"] if absent else []
    if what:
        return Step("hashes", FAILED, "; ".join(what))
    optional = [name for name in unread if name not in absent]
    read_too = f"; {', '.join(optional)} listed but not read" if optional else ""
    return Step("hashes", PASSED, f"{', '.join(named(MATCHED))} match EF.SOD ({algorithm}){read_too}")


def _verify(
    certificate: x509.Certificate,
    signature: bytes,
    message: bytes,
    algorithm: algos.SignedDigestAlgorithm,
    digest: str,
) -> None:
    """Raise InvalidSignature unless ``signature`` over ``message`` verifies with the
    certificate's key (RSA PKCS #1 v1.5, RSA-PSS or ECDSA).

    Early signers (BSI's of 2008) give their elliptic curve by its explicit parameters, which
    cryptography refuses; python-ecdsa verifies those.
    """
    try:
        public_key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        _verify_explicit_curve(certificate, signature, message, digest)
        return
    hashing = _HASHES[digest]()
    if isinstance(public_key, rsa.RSAPublicKey):
        scheme: padding.AsymmetricPadding = padding.PKCS1v15()
        if algorithm.signature_algo == "rsassa_pss":
            parameters = algorithm["parameters"]
            hashing = _HASHES[parameters["hash_algorithm"]["algorithm"].native]()
            scheme = padding.PSS(padding.MGF1(hashing), parameters["salt_length"].native)
        public_key.verify(signature, message, scheme, hashing)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, message, ec.ECDSA(hashing))
    else:
        raise UnsupportedAlgorithm(f"{type(public_key).__name__} keys")


def _verify_explicit_curve(
    certificate: x509.Certificate, signature: bytes, message: bytes, digest: str
) -> None:
    key = certificate.public_bytes(serialization.Encoding.DER)
    spki = asn1_x509.Certificate.load(key)["tbs_certificate"]["subject_public_key_info"].dump()
    try:
        verifying = ecdsa.VerifyingKey.from_der(spki, hashfunc=getattr(hashlib, digest))
        verifying.verify(signature, message, sigdecode=ecdsa.util.sigdecode_der)
    except ecdsa.BadSignatureError:
        raise InvalidSignature from None
    except (ecdsa.der.UnexpectedDER, ecdsa.MalformedPointError) as exc:
        raise ValueError(f"the signer's key cannot be read: {exc}") from None


def _signature_fails(signed: cms.SignedData, certificate: x509.Certificate) -> str | None:
    """Why the first signer's signature in ``signed`` does not verify with ``certificate``'s key;
    ``None`` when it does. The signed attributes' message digest must be the content's hash."""
    try:
        signer_info = signed["signer_infos"][0]
        digest = signer_info["digest_algorithm"]["algorithm"].native
        content = bytes(signed["encap_content_info"]["content"].native)
        attributes = signer_info["signed_attrs"]
        if attributes:
            message_digest = next(
                a["values"][0].native for a in attributes if a["type"].native == "message_digest"
            )
            if message_digest != hashlib.new(digest, content).digest():
                return "the signed message digest is not the content's hash"
            message = b"\x31" + attributes.dump()[1:]  # signed as a SET, stored as [0] IMPLICIT
        else:
            message = content
        _verify(certificate, bytes(signer_info["signature"].native), message,
                signer_info["signature_algorithm"], digest)  # fmt: skip
    except InvalidSignature:
        return "the signature does not verify"  # the caller says whose
    except (UnsupportedAlgorithm, ValueError, TypeError, KeyError, StopIteration, AttributeError) as exc:
        return f"the signature cannot be checked ({exc})"
    return None


def _signature_step(security: SecurityObject) -> Step:
    if security.signer is None:
        return Step("signature", FAILED, "EF.SOD carries no document signer certificate")
    reason = _signature_fails(security.signed_data, security.signer)
    if reason is not None:
        return Step("signature", FAILED, f"{reason}: the files were not signed as they are")
    return Step("signature", PASSED, f"signed by {_name(security.signer, 'subject')}")


def _chain_step(
    security: SecurityObject, csca: list[x509.Certificate] | None, state: str | None = None
) -> Step:
    if csca is None:
        return Step("chain", NOT_DONE, "no CSCA certificate or master list was given (--csca)")
    if security.signer is None:
        return Step("chain", FAILED, "EF.SOD carries no document signer certificate")
    try:
        issuers = [ca for ca in csca if ca.subject == security.signer.issuer]
    except ValueError:
        return Step("chain", FAILED, "the signer's certificate names no readable issuer")
    signed = asn1_x509.Certificate.load(security.signer.public_bytes(serialization.Encoding.DER))
    algorithm = signed["signature_algorithm"]
    for issuer in issuers:
        try:
            _verify(
                issuer,
                security.signer.signature,
                security.signer.tbs_certificate_bytes,
                algorithm,
                algorithm.hash_algo,
            )
        except (InvalidSignature, ValueError, TypeError, KeyError, UnsupportedAlgorithm):
            continue
        mismatch = _country_mismatch(issuer, state)
        if mismatch:
            return Step("chain", FAILED, mismatch)
        unread = "" if state else "; the MRZ's issuing state was not compared (no readable DG1)"
        return Step("chain", PASSED, f"issued by {_name(issuer, 'subject')}{unread}")
    issuer_name = _name(security.signer, "issuer")
    if issuers:
        return Step("chain", FAILED, f"the signer's certificate does not verify with {issuer_name}'s key")
    return Step("chain", FAILED, f"no trusted CSCA is {issuer_name}")


# ICAO 9303 part 3's state codes that are no ISO 3166-1 alpha-3 code, and the country (C=) their
# CSCA certificates name
_ICAO_COUNTRIES = {"D": "DE", "EUE": "EU", "RKS": "XK", "UNO": "UN", "UNA": "UN", "UNK": "UN"}
_ICAO_COUNTRIES.update(dict.fromkeys(("GBD", "GBN", "GBO", "GBP", "GBS"), "GB"))


def _issuing_state(dg1: bytes | None) -> str | None:
    """The issuing state in DG1's MRZ (characters 3-5); ``None`` without a readable DG1."""
    from impostor.document.chip import read_dg1

    try:
        return read_dg1(dg1)[2:5].rstrip("<") or None if dg1 is not None else None
    except DocumentError:
        return None


def _country_mismatch(csca: x509.Certificate, state: str | None) -> str | None:
    """Why the CSCA ``csca`` cannot have issued a document of the MRZ's issuing ``state``;
    ``None`` when its country (C=) is that state's, or there is no state to compare.

    A CSCA signs only its own state's documents (Doc 9303 part 12): a genuine signer of one
    country under a passport of another is a forgery made with a stolen or misused key.
    """
    if state is None:
        return None
    import pycountry

    country = pycountry.countries.get(alpha_3=state)
    expected = _ICAO_COUNTRIES.get(state) or (country.alpha_2 if country else None)
    named = [str(a.value) for a in csca.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)]
    if expected is not None and named == [expected]:
        return None
    return (
        f"the MRZ says the document was issued by {state} ({expected or 'no known country'}), but the "
        f"CSCA it chains to, {_name(csca, 'subject')}, is of {'/'.join(named) or 'no country'}: "
        "a CSCA signs only its own state's documents"
    )


def authenticate(
    sod: bytes, groups: dict[int, bytes], *, csca: list[x509.Certificate] | None = None
) -> Authentication:
    """Passive authentication of the data groups ``groups`` (number → file bytes) with EF.SOD.

    Raises :class:`DocumentError` only for an EF.SOD that cannot be read at all; a hash that
    differs or a signature that fails is a failed step, not an error.
    """
    security = read_sod(sod)
    signer = security.signer
    results = _group_results(security, groups)
    steps = (
        _hash_step(results, security.hash_algorithm),
        _signature_step(security),
        _chain_step(security, csca, _issuing_state(groups.get(1))),
    )
    valid = ""
    if signer is not None:
        try:
            valid = f"{signer.not_valid_before_utc:%Y-%m-%d} to {signer.not_valid_after_utc:%Y-%m-%d}"
        except ValueError:
            valid = "(unreadable)"
    subject = _name(signer, "subject") if signer else ""
    return Authentication(security.hash_algorithm, steps, subject, valid, results)


def _certificates(data: bytes, label: str) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise DocumentError(f"{label}: a PEM certificate cannot be read ({exc})") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    try:  # an ICAO master list: a SignedData whose content is a set of CSCA certificates
        signed = _signed_data(data, label, MASTER_LIST)
    except DocumentError:
        raise DocumentError(f"{label}: not a certificate (PEM or DER) or an ICAO master list") from None
    _check_master_list(signed, label)
    try:
        listed = _MasterList.load(bytes(signed["encap_content_info"]["content"].native))
        return [x509.load_der_x509_certificate(c.dump()) for c in listed["certificates"]]
    except (ValueError, TypeError, KeyError):
        raise DocumentError(f"{label}: the master list's certificates cannot be read") from None


def _check_master_list(signed: cms.SignedData, label: str) -> None:
    """Raise :class:`DocumentError` unless the master list's own signature verifies with the
    signer certificate it carries: an altered list would slip a forger's CSCA among the trusted."""
    try:
        sid = signed["signer_infos"][0]["sid"]
        carried = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            chosen = [
                c for c in carried
                if c.issuer == wanted["issuer"] and c.serial_number == wanted["serial_number"].native
            ]  # fmt: skip
        else:
            chosen = [c for c in carried if c.key_identifier == sid.chosen.native]
        certificate = x509.load_der_x509_certificate(chosen[0].dump()) if chosen else None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise DocumentError(f"{label}: the master list's signer is unreadable ({_first_line(exc)})") from None
    if certificate is None:
        raise DocumentError(
            f"{label}: the master list carries no certificate of its signer, so its signature cannot be "
            "checked; get the list again from its publisher (ICAO PKD, BSI)"
        )
    reason = _signature_fails(signed, certificate)
    if reason is not None:
        raise DocumentError(
            f"{label}: the master list's own signature fails ({reason}): the list was altered, or "
            f"{_name(certificate, 'subject')} did not sign it; get it again from its publisher"
        )


_TRUSTED: dict[Path, tuple[tuple[tuple[str, int, int], ...], list[x509.Certificate]]] = {}
_TRUSTED_LOCK = threading.Lock()


def trusted_cscas(path: Path) -> list[x509.Certificate]:
    """``load_csca(path)``, parsed once per process while its files stay as they are: a station
    reads its trust list for every document, and a master list is a megabyte to parse.

    A file's name, size and modification time stand for its content; a change re-reads it.
    Raises what ``load_csca`` raises.
    """
    key = path.expanduser().resolve()
    try:
        files = sorted(key.iterdir()) if key.is_dir() else [key]
        state = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return load_csca(path)  # says what is wrong with it
    with _TRUSTED_LOCK:
        cached = _TRUSTED.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
    found = load_csca(path)
    with _TRUSTED_LOCK:
        if len(_TRUSTED) > 8:  # a process trusts one list; tests and tools may name a few
            _TRUSTED.clear()
        _TRUSTED[key] = (state, found)
    return found


def load_csca(path: Path) -> list[x509.Certificate]:
    """The CSCA certificates in a file (PEM, DER or an ICAO master list) or a folder of them.

    Raises :class:`DocumentError` when the path does not exist, a file is none of these, or
    no certificate is found.
    """
    if not path.exists():
        raise DocumentError(f"{path}: no such file or folder of CSCA certificates")
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found: list[x509.Certificate] = []
    for file in files:
        try:  # a FIFO would block and /dev/zero never end: regular files under the size limit only
            data = read_bounded(file, max_file_bytes())
        except OSError as exc:
            raise DocumentError(f"{file}: CSCA certificates cannot be read ({why_unreadable(exc)})") from None
        found += _certificates(data, str(file))
    if not found:
        raise DocumentError(f"{path}: holds no certificate")
    return found
