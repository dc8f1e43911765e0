"""The register as an OOTS evidence provider (Single Digital Gateway, Implementing Regulation 2022/1463).

An evidence request of the Evidence Exchange Data Model (EDM: OASIS ebXML RegRep 4.0 with the SDG
profile) is read by ``request`` (by namespace, hardened like the ELMO importer), checked against what
the register serves (``catalogue``), its person found (``matching``: never a guess), held until the
person previewed and approved it (``previews``), and answered by ``response`` with a signed ELMO
(``evidence``). ``service.answer`` runs those in order; ``validation`` checks what goes out.
"""
