"""Chip access control against the worked examples of ICAO Doc 9303 part 11, byte for byte.

Appendix D: BAC (the "Utopia" MRZ L898902C<, 1969-08-06, 1994-06-23) and 3DES secure messaging
reading EF.COM. Appendix G.1: PACE with ECDH generic mapping on brainpoolP256r1 and AES-128
(MRZ T22000129, 1964-08-12, 2010-10-31). The chips here are transcripts of the standard's
examples: a :class:`TranscriptCard` checks that each command is the one the standard shows and
answers what the standard's chip answered.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from impostor.card.access import open_chip
from impostor.card.apdu import Command, Response
from impostor.card.bac import bac_keys, open_bac, session_from_answer
from impostor.card.keys import (
    AES128,
    AES256,
    KDF_PASSWORD,
    TDES,
    SessionKeys,
    adjust_parity,
    decrypt,
    derive_key,
    mac,
    mrz_information,
    mrz_password,
    pad,
    session_keys,
)
from impostor.card.pace import (
    CURVES,
    PaceInfo,
    authentication_token,
    choose_pace,
    map_generator,
    open_pace,
    pace_infos,
)
from impostor.card.sm import SecureChannel
from impostor.errors import AccessDenied, ChipError

H = bytes.fromhex


class TranscriptCard:
    """A chip that replays a transcript: each step is (expected command or None, answer).

    ``None`` accepts any command (for steps whose bytes depend on a wrong password).
    """

    def __init__(self, steps: list[tuple[str | None, str]]) -> None:
        self.steps = list(steps)
        self.sent: list[bytes] = []

    def exchange(self, command: Command) -> Response:
        raw = command.to_bytes()
        self.sent.append(raw)
        assert self.steps, f"the card got {raw.hex().upper()} after its transcript ended"
        expected, answer = self.steps.pop(0)
        if expected is not None:
            assert raw.hex().upper() == expected.upper()
        return Response.from_bytes(H(answer))

    @property
    def finished(self) -> bool:
        return not self.steps


# --- Appendix D: BAC and 3DES secure messaging ---------------------------------------------------

D_MRZ_INFO = "L898902C<369080619406236"
D_RND_IC = "4608F91988702212"
D_RND_IFD = "781723860C06C226"
D_K_IFD = "0B795240CB7049B01C19B33E32804F0B"
D_EXTERNAL_AUTHENTICATE = (
    "0082000028"
    "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"  # E.IFD
    "5F1448EEA8AD90A7"  # M.IFD
    "28"
)
D_CHIP_ANSWER = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
D_KS_ENC = "979EC13B1CBFE9DCD01AB0FED307EAE5"
D_KS_MAC = "F1CB1F1FB5ADF208806B89DC579DC1F8"
D_SSC = "887022120C06C226"
D_SM = [
    # SELECT EF.COM, READ BINARY of 4 bytes, READ BINARY of the remaining 18 from offset 4
    ("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"),
    ("0CB000000D9701048E08ED6705417E96BA5500", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"),
    (
        "0CB000040D9701128E082EA28A70F3C7B53500",
        "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
    ),
]
D_COMMANDS = [
    Command(0x00, 0xA4, 0x02, 0x0C, H("011E")),
    Command(0x00, 0xB0, 0x00, 0x00, le=4),
    Command(0x00, 0xB0, 0x00, 0x04, le=0x12),
]
EF_COM = "60145F0104303130365F36063034303030305C026175"


def _bac_transcript() -> TranscriptCard:
    return TranscriptCard(
        [("0084000008", D_RND_IC + "9000"), (D_EXTERNAL_AUTHENTICATE, D_CHIP_ANSWER + "9000"), *D_SM]
    )


def _nonces(*values: str):
    queue = [H(value) for value in values]

    def random(size: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == size
        return value

    return random


def _d_session() -> SessionKeys:
    return SessionKeys(TDES, H(D_KS_ENC), H(D_KS_MAC), H(D_SSC))


def test_mrz_information_of_the_worked_example() -> None:
    assert mrz_information("L898902C", "690806", "940623") == D_MRZ_INFO
    assert mrz_information("L898902C<", "690806", "940623") == D_MRZ_INFO


def test_long_document_number_is_used_whole_with_the_printed_check_digit() -> None:
    # TD1 with 10+ characters: the whole number, then the check digit printed in the optional data
    assert mrz_information("1234567890", "860101", "300101").startswith("12345678907")
    assert mrz_information("1234567890", "860101", "300101", number_check="3").startswith("12345678903")


@pytest.mark.parametrize("fields", [("L898902C", "6908O6", "940623"), ("L89 8902C", "690806", "940623")])
def test_unusable_mrz_fields_are_refused(fields: tuple[str, str, str]) -> None:
    with pytest.raises(AccessDenied):
        mrz_information(*fields)


def test_bac_keys_appendix_d2() -> None:
    keys = bac_keys(D_MRZ_INFO)
    assert keys.seed == H("239AB9CB282DAF66231DC5A4DF6BFBAE")
    assert keys.enc == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert keys.mac == H("7962D9ECE03D1ACD4C76089DCE131543")
    assert "239A" not in repr(keys).upper()  # keys stay out of logs


def test_parity_is_odd_in_every_byte() -> None:
    assert adjust_parity(H("00FF0102")) == H("01FE0102")
    assert all(bin(byte).count("1") % 2 for byte in adjust_parity(bytes(range(256))))


def test_retail_mac_appendix_d3() -> None:
    key = H("7962D9ECE03D1ACD4C76089DCE131543")
    e_ifd = H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    assert mac(TDES, key, pad(e_ifd, 8)) == H("5F1448EEA8AD90A7")


def test_bac_session_keys_appendix_d3() -> None:
    session = session_from_answer(
        bac_keys(D_MRZ_INFO), H(D_RND_IFD), H(D_RND_IC), H(D_K_IFD), H(D_CHIP_ANSWER)
    )
    assert (session.enc, session.mac, session.ssc) == (H(D_KS_ENC), H(D_KS_MAC), H(D_SSC))
    # Kseed = K.IFD xor K.IC (K.IC = 0B4F80323EB3191CB04970CB4052790B in the appendix)
    assert session == session_keys(H("0036D272F5C350ACAC50C3F572D23600"), TDES, H(D_SSC))


def test_secure_messaging_appendix_d4_step_by_step() -> None:
    channel = SecureChannel(TranscriptCard([]), _d_session())
    plain = []
    for command, (protected, answer) in zip(D_COMMANDS, D_SM, strict=True):
        assert channel.wrap(command).to_bytes() == H(protected)
        plain.append(channel.unwrap(Response.from_bytes(H(answer))))
    assert [response.sw for response in plain] == [0x9000] * 3
    assert plain[0].data == b""
    assert plain[1].data + plain[2].data == H(EF_COM)
    assert channel.ssc == H("887022120C06C22C")


def test_bac_then_ef_com_through_the_worked_example_chip() -> None:
    card = _bac_transcript()
    channel = open_bac(card, D_MRZ_INFO, random=_nonces(D_RND_IFD, D_K_IFD))
    assert channel.keys == _d_session()
    answers = [channel.exchange(command) for command in D_COMMANDS]
    assert answers[1].data + answers[2].data == H(EF_COM)
    assert card.finished


def test_altered_answer_fails_its_mac_and_ends_the_session() -> None:
    select, answer = D_SM[0]
    tampered = H(answer)
    tampered = tampered[:2] + b"\x62\x82" + tampered[4:]  # DO'99' says 6282 instead of 9000
    card = TranscriptCard([(select, tampered.hex()), (None, "9000")])
    channel = SecureChannel(card, _d_session())
    with pytest.raises(ChipError, match="MAC check"):
        channel.exchange(D_COMMANDS[0])
    with pytest.raises(ChipError, match="BAC or PACE again"):
        channel.exchange(D_COMMANDS[1])
    assert len(card.sent) == 1


def test_success_without_secure_messaging_is_refused() -> None:
    channel = SecureChannel(TranscriptCard([(D_SM[0][0], "9000")]), _d_session())
    with pytest.raises(ChipError, match="without secure messaging"):
        channel.exchange(D_COMMANDS[0])


def test_plain_error_status_passes_through() -> None:
    channel = SecureChannel(TranscriptCard([(D_SM[0][0], "6A82")]), _d_session())
    assert channel.exchange(D_COMMANDS[0]) == Response(b"", 0x6A82)


def test_wrong_mrz_refused_by_the_chip() -> None:
    card = TranscriptCard([("0084000008", D_RND_IC + "9000"), (None, "6300")])
    with pytest.raises(AccessDenied, match="does not match this chip"):
        open_bac(card, mrz_information("L898902C", "690806", "940624"), random=_nonces(D_RND_IFD, D_K_IFD))


def test_answer_under_other_keys_is_a_wrong_mrz() -> None:
    # the worked example's chip answer, checked with the keys of another expiry date
    card = TranscriptCard([("0084000008", D_RND_IC + "9000"), (None, D_CHIP_ANSWER + "9000")])
    with pytest.raises(AccessDenied):
        open_bac(card, mrz_information("L898902C", "690806", "940624"), random=_nonces(D_RND_IFD, D_K_IFD))


# --- extended length, AES: cross-checked against a MAC computed here with cryptography alone ----


def _aes_cmac8(key: bytes, data: bytes) -> bytes:
    signer = cmac.CMAC(algorithms.AES(key))
    signer.update(data)
    return signer.finalize()[:8]


def test_extended_le_is_two_bytes_in_do97_and_the_command_goes_extended() -> None:
    keys = SessionKeys(AES256, bytes(range(32)), bytes(range(32, 64)), bytes(16))
    protected = SecureChannel(TranscriptCard([]), keys).wrap(Command(0x00, 0xB0, 0x00, 0x00, le=65536))
    ssc = (1).to_bytes(16, "big")
    do97 = H("97020000")
    expected_mac = _aes_cmac8(keys.mac, pad(ssc + pad(H("0CB00000"), 16) + do97, 16))
    assert protected.to_bytes() == H("0CB00000" + "00000E") + do97 + H("8E08") + expected_mac + H("0000")


def test_long_protected_answer_is_decrypted_with_the_ssc_iv() -> None:
    keys = SessionKeys(AES128, bytes(range(16)), bytes(range(16, 32)), bytes(16))
    content = bytes(range(256)) * 4  # 1,024 bytes: DO'87' takes a three-byte length
    ssc = (2).to_bytes(16, "big")  # one for the command, one for the answer
    iv = Cipher(algorithms.AES(keys.enc), modes.ECB()).encryptor().update(ssc)
    encryptor = Cipher(algorithms.AES(keys.enc), modes.CBC(iv)).encryptor()
    cryptogram = encryptor.update(pad(content, 16)) + encryptor.finalize()
    do87 = H("87820411") + b"\x01" + cryptogram
    do99 = H("99029000")
    answer = do87 + do99 + H("8E08") + _aes_cmac8(keys.mac, pad(ssc + do87 + do99, 16)) + H("9000")
    card = TranscriptCard([(None, answer.hex())])
    response = SecureChannel(card, keys).exchange(Command(0x00, 0xB0, 0x00, 0x00, le=65536))
    assert response == Response(content, 0x9000)


# --- Appendix G.1: PACE, ECDH generic mapping, brainpoolP256r1, AES-128 ---------------------------

G_MRZ_INFO = mrz_information("T22000129", "640812", "101031")
G_CARD_ACCESS = "31143012060A04007F0007020204020202010202010D"
G_OID = "0.4.0.127.0.7.2.2.4.2.2"  # id-PACE-ECDH-GM-AES-CBC-CMAC-128
G_NONCE_Z = "95A3A016522EE98D01E76CB6B98B42C3"
G_NONCE_S = "3F00C4D39D153F2B2A214A078D899B22"
G_SK_MAP_IFD = 0x7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99
G_PK_MAP_IFD = (
    "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
    "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
)
G_PK_MAP_IC = (
    "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
    "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
)
G_H = (
    "60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5",
    "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181",
)
G_MAPPED = (
    "8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2",
    "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522",
)
G_SK_DH_IFD = 0xA73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595
G_PK_DH_IFD = (
    "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
    "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
)
G_PK_DH_IC = (
    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
)
G_SHARED = "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925"
G_KS_ENC = "F5F0E35C0D7161EE6724EE513A0D9A7F"
G_KS_MAC = "FE251C7858B356B24514B3BD5F4297D1"
G_T_IFD = "C2B0BD78D94BA866"
G_T_IC = "3ABB9674BCE93C08"
G_MSE = "0022C1A40F800A04007F00070202040202830101"


def _pace_transcript(mse: str = G_MSE) -> list[tuple[str | None, str]]:
    return [
        (mse, "9000"),
        ("10860000027C0000", "7C1280" + "10" + G_NONCE_Z + "9000"),
        ("10860000457C438141" + G_PK_MAP_IFD + "00", "7C438241" + G_PK_MAP_IC + "9000"),
        ("10860000457C438341" + G_PK_DH_IFD + "00", "7C438441" + G_PK_DH_IC + "9000"),
        ("008600000C7C0A8508" + G_T_IFD + "00", "7C0A8608" + G_T_IC + "9000"),
    ]


def _g_keys():
    queue = [G_SK_MAP_IFD, G_SK_DH_IFD]

    def private_key(order: int) -> int:
        assert order == CURVES[13].order
        return queue.pop(0)

    return private_key


def test_card_access_of_appendix_g() -> None:
    info = choose_pace(H(G_CARD_ACCESS))
    assert info == PaceInfo(G_OID, 2, 13, "ECDH-GM", AES128)


def test_pace_password_and_nonce_appendix_g1() -> None:
    password = mrz_password(G_MRZ_INFO)
    assert password == H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
    k_pi = derive_key(password, KDF_PASSWORD, AES128)
    assert k_pi == H("89DED1B26624EC1E634C1989302849DD")
    assert decrypt(AES128, k_pi, H(G_NONCE_Z)) == H(G_NONCE_S)


def test_generic_mapping_appendix_g1() -> None:
    curve = CURVES[13]
    assert curve.name == "BRAINPOOLP256r1"
    assert G_SK_MAP_IFD * curve.generator == _point(G_PK_MAP_IFD)
    shared = G_SK_MAP_IFD * _point(G_PK_MAP_IC)
    assert (shared.x(), shared.y()) == tuple(int(value, 16) for value in G_H)
    mapped = map_generator(curve, H(G_NONCE_S), shared)
    assert (mapped.x(), mapped.y()) == tuple(int(value, 16) for value in G_MAPPED)
    assert G_SK_DH_IFD * mapped == _point(G_PK_DH_IFD)
    assert (G_SK_DH_IFD * _point(G_PK_DH_IC)).x() == int(G_SHARED, 16)


def _point(encoded: str):
    from ecdsa.ellipticcurve import Point

    raw = H(encoded)
    return Point(CURVES[13].curve, int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big"))


def test_pace_session_keys_and_tokens_appendix_g1() -> None:
    keys = session_keys(H(G_SHARED), AES128)
    assert (keys.enc, keys.mac, keys.ssc) == (H(G_KS_ENC), H(G_KS_MAC), bytes(16))
    assert authentication_token(AES128, keys.mac, G_OID, H(G_PK_DH_IC)) == H(G_T_IFD)
    assert authentication_token(AES128, keys.mac, G_OID, H(G_PK_DH_IFD)) == H(G_T_IC)


def test_pace_through_the_worked_example_chip() -> None:
    card = TranscriptCard(_pace_transcript())
    info = choose_pace(H(G_CARD_ACCESS))
    assert info is not None
    channel = open_pace(card, info, mrz_info=G_MRZ_INFO, private_key=_g_keys())
    assert card.finished
    assert channel.keys == SessionKeys(AES128, H(G_KS_ENC), H(G_KS_MAC), bytes(16))


def test_pace_names_the_domain_parameters_when_card_access_offers_several() -> None:
    # the G.1 PACEInfo, and a second one on NIST P-256: MSE:Set AT must then carry 84 01 0D
    second = "3012060A04007F0007020204020202010202010C"
    infos = pace_infos(H("3128" + G_CARD_ACCESS[4:] + second))
    assert [info.parameter_id for info in infos] == [13, 12]
    card = TranscriptCard(_pace_transcript("0022C1A412800A04007F0007020204020283010184010D"))
    open_pace(card, infos[0], mrz_info=G_MRZ_INFO, private_key=_g_keys())
    assert card.finished


def test_aes_secure_messaging_after_pace() -> None:
    # SELECT of the eMRTD application under the G.1 keys; a vector another implementation
    # computed from the standard (the appendix stops at the keys), agreeing with ours
    card = TranscriptCard(
        [
            *_pace_transcript(),
            (
                "0CA4040C1D871101752F676B09FAC86A87D632749A49C7CC8E08C18BA1FCE707BD9F00",
                "990290008E08BEA7B381C494A0799000",
            ),
        ]
    )
    info = choose_pace(H(G_CARD_ACCESS))
    assert info is not None
    channel = open_pace(card, info, mrz_info=G_MRZ_INFO, private_key=_g_keys())
    assert channel.exchange(Command(0x00, 0xA4, 0x04, 0x0C, H("A0000002471001"))).sw == 0x9000


def test_pace_wrong_password_refused_at_the_tokens() -> None:
    steps = _pace_transcript(G_MSE[:-2] + "02")  # 83 01 02: the password is the CAN
    steps[2:] = [(None, steps[2][1]), (None, steps[3][1]), (None, "6300")]
    info = choose_pace(H(G_CARD_ACCESS))
    assert info is not None
    with pytest.raises(AccessDenied, match="does not open this chip"):
        open_pace(TranscriptCard(steps), info, can="123456", private_key=_g_keys())


def test_pace_chip_token_that_does_not_check_out_is_access_denied() -> None:
    steps = _pace_transcript()
    steps[4] = (steps[4][0], "7C0A8608" + "00" * 8 + "9000")
    info = choose_pace(H(G_CARD_ACCESS))
    assert info is not None
    with pytest.raises(AccessDenied, match="token"):
        open_pace(TranscriptCard(steps), info, mrz_info=G_MRZ_INFO, private_key=_g_keys())


def test_pace_refuses_a_mapping_key_off_the_curve() -> None:
    steps = _pace_transcript()
    off_curve = G_PK_MAP_IC[:-2] + "55"
    steps[2] = (steps[2][0], "7C438241" + off_curve + "9000")
    info = choose_pace(H(G_CARD_ACCESS))
    assert info is not None
    with pytest.raises(ChipError, match="not a point"):
        open_pace(TranscriptCard(steps[:3]), info, mrz_info=G_MRZ_INFO, private_key=_g_keys())


def test_only_supported_pace_infos_are_chosen() -> None:
    dh_gm = "31143012060A04007F0007020204010202010202010D"  # id-PACE-DH-GM-AES-128
    assert pace_infos(H(dh_gm))[0].mapping == "DH-GM"
    assert choose_pace(H(dh_gm)) is None
    without_parameters = pace_infos(H("3111300F060A04007F00070202040202020102"))
    assert without_parameters[0].parameter_id is None
    assert choose_pace(H("3111300F060A04007F00070202040202020102")) is None
    with pytest.raises(ChipError, match="CardAccess"):
        pace_infos(H("3114300F"))


def test_pace_with_3des_pads_the_token_and_aes_does_not() -> None:
    # 7F49 4F { 06 0A <id-PACE-ECDH-GM-3DES>, 86 41 <point> }, built by hand
    oid = "0.4.0.127.0.7.2.2.4.2.1"
    data = H("7F494F060A04007F00070202040201" + "8641" + G_PK_DH_IC)
    token = authentication_token(TDES, H(D_KS_MAC), oid, H(G_PK_DH_IC))
    assert token == mac(TDES, H(D_KS_MAC), pad(data, 8))
    assert PaceInfo(oid, 2, 13, "ECDH-GM", TDES).supported
    aes = authentication_token(AES128, H(G_KS_MAC), oid, H(G_PK_DH_IC))
    assert aes == _aes_cmac8(H(G_KS_MAC), data)


# --- open_chip: PACE first, else BAC, a few MRZ readings -----------------------------------------

SELECT_EMRTD = "00A4040C07A0000002471001"
WRONG_MRZ_INFO = mrz_information("L898902C", "690806", "940624")


def test_open_chip_uses_pace_when_card_access_offers_it() -> None:
    select = (
        "0CA4040C1D871101752F676B09FAC86A87D632749A49C7CC8E08C18BA1FCE707BD9F00",
        "990290008E08BEA7B381C494A0799000",
    )
    card = TranscriptCard([*_pace_transcript(), select])
    channel = open_chip(
        card, mrz_candidates=[G_MRZ_INFO], card_access=H(G_CARD_ACCESS), private_key=_g_keys()
    )
    assert card.finished
    assert channel.keys.algorithm == AES128


def test_open_chip_tries_the_next_reading_with_bac() -> None:
    card = TranscriptCard(
        [
            (SELECT_EMRTD, "9000"),
            ("0084000008", D_RND_IC + "9000"),
            (None, "6300"),  # the first reading's keys are refused
            ("0084000008", D_RND_IC + "9000"),
            (D_EXTERNAL_AUTHENTICATE, D_CHIP_ANSWER + "9000"),
        ]
    )
    random = _nonces(D_RND_IFD, D_K_IFD, D_RND_IFD, D_K_IFD)
    channel = open_chip(card, mrz_candidates=[WRONG_MRZ_INFO, D_MRZ_INFO], random=random)
    assert card.finished
    assert channel.keys == _d_session()


def test_open_chip_gives_up_after_three_readings_and_says_so() -> None:
    refusals = [("0084000008", D_RND_IC + "9000"), (None, "6300")] * 3
    card = TranscriptCard([(SELECT_EMRTD, "9000"), *refusals])
    random = _nonces(*[D_RND_IFD, D_K_IFD] * 3)
    with pytest.raises(AccessDenied, match="3 MRZ readings"):
        open_chip(card, mrz_candidates=[WRONG_MRZ_INFO] * 5, random=random)
    assert card.finished  # the fourth and fifth readings were never sent


def test_open_chip_refuses_a_can_without_pace() -> None:
    with pytest.raises(AccessDenied, match="PACE"):
        open_chip(TranscriptCard([]), can="123456")
