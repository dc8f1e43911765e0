"""What the citizen's pages say, in bokmål (``nb``, the default) and English (``en``)."""

from __future__ import annotations

LANGUAGES = ("nb", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (bokmål, English)
    "site": ("Kompetanseregisteret", "The Norwegian competence register"),
    "skip": ("Hopp til innholdet", "Skip to content"),
    "other_language": ("English", "Norsk (bokmål)"),
    "nav": ("Mine sider", "My pages"),
    "my_results": ("Mine resultater", "My results"),
    "views": ("Hvem har sett mine opplysninger", "Who has looked at my data"),
    "share_links": ("Delingslenker", "Share links"),
    "log_in": ("Logg inn med ID-porten", "Log in with ID-porten"),
    "log_out": ("Logg ut", "Log out"),
    "login_title": ("Logg inn", "Log in"),
    "login_intro": (
        "Se alt registeret har om deg, hvem som har sett det, og del utvalgte resultater.",
        "See everything the register holds about you, who has looked at it, and share chosen results.",
    ),
    "logged_out": ("Du er logget ut.", "You are logged out."),
    "nothing_held": ("Registeret har ingen resultater om deg.", "The register holds no results about you."),
    "results_intro": (
        "Dette er alt registeret har om deg: gyldige resultater per sektor, tidligere versjoner og"
        " tilbaketrukne resultater.",
        "This is everything the register holds about you: valid results by sector, earlier versions and"
        " withdrawn results.",
    ),
    "name": ("Navn", "Name"),
    "birth_date": ("Fødselsdato", "Date of birth"),
    "result": ("Resultat", "Result"),
    "results": ("Resultater", "Results"),
    "code": ("Kode", "Code"),
    "grade": ("Karakter", "Grade"),
    "credits": ("Poeng", "Credits"),
    "completed": ("Fullført", "Completed"),
    "awarded_by": ("Utstedt av", "Awarded by"),
    "version": ("Versjon", "Version"),
    "earlier_versions": ("Tidligere versjoner", "Earlier versions"),
    "recorded": ("registrert", "recorded"),
    "withdrawn": ("Tilbaketrukne resultater", "Withdrawn results"),
    "reason": ("Begrunnelse", "Reason"),
    "withdrawn_at": ("Trukket tilbake", "Withdrawn"),
    "part_of": ("Del av", "Part of"),
    "download_elmo": ("Last ned mine resultater (ELMO)", "Download my results (ELMO)"),
    "elmo_signed": ("Dokumentet er signert av registeret.", "The document is signed by the register."),
    "wallet": ("Legg i lommeboken", "Put in my wallet"),
    "wallet_offer": ("Legg resultatet i lommeboken", "Put the result in your wallet"),
    "wallet_intro": (
        "Du kan hente dette som et bevis i den digitale lommeboken din (EUs digitale identitetslommebok):",
        "You can collect this as a credential in your digital wallet (the EU Digital Identity Wallet):",
    ),
    "wallet_scan": ("Skann koden med lommeboken", "Scan the code with your wallet"),
    "wallet_qr_alt": (
        "QR-kode med tilbudet om beviset; den samme lenken står under",
        "QR code holding the credential offer; the same link is below",
    ),
    "wallet_open_link": (
        "Eller åpne tilbudet i lommeboken på denne enheten",
        "Or open the offer in the wallet on this device",
    ),
    "wallet_tx_code": (
        "Lommeboken spør etter en engangskode. Skriv inn:",
        "The wallet asks for a one-time code. Enter:",
    ),
    "wallet_expires": ("Tilbudet gjelder én gang og til", "The offer works once, until"),
    "views_intro": (
        "Hvem som har lest opplysningene dine, gruppert etter virksomhet og formål, nyeste først."
        " Dine egne besøk på disse sidene er ikke med.",
        "Who has read your data, grouped by organisation and purpose, newest first."
        " Your own visits to these pages are not listed.",
    ),
    "no_views": ("Ingen andre har sett opplysningene dine.", "Nobody else has looked at your data."),
    "organisation": ("Virksomhet", "Organisation"),
    "purpose": ("Formål", "Purpose"),
    "times": ("Antall", "Times"),
    "dates": ("Tidspunkter", "Dates"),
    "anyone_with_link": ("Den som hadde delingslenken", "Whoever held the share link"),
    "share_intro": (
        "En delingslenke gir den som har den tilgang til resultatene du velger, til lenken utløper eller"
        " du trekker den tilbake. Hver gang noen åpner lenken, ser du det i oversikten over hvem som har"
        " sett opplysningene dine.",
        "A share link lets whoever holds it see the results you choose, until it expires or you revoke"
        " it. Every time someone opens it, it shows in the list of who has looked at your data.",
    ),
    "choose_results": ("Velg resultater å dele", "Choose results to share"),
    "label": ("Navn på lenken (valgfritt)", "Name of the link (optional)"),
    "days_valid": ("Gyldig i antall dager", "Valid for days"),
    "create_link": ("Lag delingslenke", "Create share link"),
    "new_link": ("Ny delingslenke", "New share link"),
    "the_link": ("Lenken", "The link"),
    "new_link_once": (
        "Kopier lenken nå: den vises bare denne ene gangen.",
        "Copy the link now: it is shown this once only.",
    ),
    "your_links": ("Dine delingslenker", "Your share links"),
    "no_links": ("Du har ingen delingslenker.", "You have no share links."),
    "expires": ("Utløper", "Expires"),
    "created": ("Laget", "Created"),
    "status": ("Status", "Status"),
    "active": ("aktiv", "active"),
    "expired": ("utløpt", "expired"),
    "revoked": ("trukket tilbake", "revoked"),
    "revoke": ("Trekk tilbake", "Revoke"),
    "results_count": ("resultater", "results"),
    "shared_title": ("Delte resultater", "Shared results"),
    "shared_intro": (
        "Resultater fra Kompetanseregisteret, delt av personen selv. Lenken er gyldig til",
        "Results from the Norwegian competence register, shared by the person. The link is valid until",
    ),
    "error_title": ("Noe gikk galt", "Something went wrong"),
    "error_code": ("Feilkode", "Error code"),
    "try_again": ("Prøv igjen", "Try again"),
    "sector.primary": ("Grunnopplæring", "Primary and secondary education"),
    "sector.vocational": ("Fagskole", "Higher vocational education"),
    "sector.higher": ("Universitet og høgskole", "Higher education"),
    "sector.micro": ("Mikrokurs og etter- og videreutdanning", "Micro-credentials and lifelong learning"),
    "purpose.persons.lookup": ("Oppslag av resultatene dine", "Look-up of your results"),
    "purpose.persons.elmo": ("Resultatene dine som ELMO-dokument", "Your results as an ELMO document"),
    "purpose.share.read": ("Åpnet en av delingslenkene dine", "Opened one of your share links"),
    # Wallet issuance hands results out of the register, so it is listed even when the person asked.
    "purpose.wallet.offer_created": (
        "Tilbud om å legge resultater i en digital lommebok",
        "Offer to put results in a digital wallet",
    ),
    "purpose.wallet.credential_issued": (
        "Resultater utstedt som bevis til en digital lommebok",
        "Results issued as a credential to a digital wallet",
    ),
    "purpose.audit.person_accesses": (
        "Forvalter så hvem som har sett opplysningene dine",
        "An administrator looked at who has seen your data",
    ),
    "purpose.other": ("Lesing av opplysningene dine", "Read of your data"),
}


def text_for(key: str, language: str) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    return pair[1] if language == "en" else pair[0]
