"""Talking to a passport's chip through a reader (ICAO Doc 9303 parts 10 and 11).

- ``apdu``: command and response APDUs, and the ``Channel`` seam every layer talks through.
- ``keys``: the key derivation function, the MRZ password, 3DES/AES with the retail MAC and CMAC.
- ``sm``: secure messaging, a ``Channel`` wrapped around another (Doc 9303 part 11 §9.8).
- ``bac``: basic access control with the MRZ (§4.3).
- ``pace``: PACE with ECDH generic mapping, from EF.CardAccess's PACEInfo (§4.4).
- ``pcsc``: readers through the system's PC/SC library (pcsc-lite, WinSCard) by ``ctypes``:
  pyscard has no prebuilt wheel, and the runtime must install without a compiler.
- ``files``: SELECT and READ BINARY of the eMRTD files, bounded, with progress.
- ``passport``: a passport's chip read whole: access, files, then PA, AA and CA in that order.
- ``authenticity``: active (DG15) and chip (DG14) authentication, counted only after PA passed.
- ``candidates``: the MRZ readings to try, best first: the OCR's, then the likeliest others
  whose check digits hold.
- ``access``: opening a chip, PACE first else BAC, over a few OCR readings of the MRZ.
"""
