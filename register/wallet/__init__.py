"""Wallet issuance: the register as an OpenID4VCI 1.0 credential issuer of SD-JWT VCs (docs/wallet.md).

The functions other parts of the register call:

- ``create_offer(conn, person_id, achievement_ids, settings, *, elm_document=False, created_by="citizen")
  -> Offer`` (``register.wallet.offers``): a credential offer for the person's chosen valid achievements;
  ``Offer.uri`` is the ``openid-credential-offer://?credential_offer=...`` link (show it as a QR code)
  and ``Offer.tx_code`` the 6-digit transaction code to show beside it. Audited; the caller commits.
  The citizen page calls it for the logged-in person; ``register wallet offer`` for an operator.
- ``status.invalidate(conn, achievement_ids)``: every credential holding one of these achievements
  flipped to invalid in its status list (withdrawals call it; the ingest embeds ``status.INVALIDATE``).

The rest serves the HTTP endpoints in ``api/wallet``: ``offers.redeem`` (token), ``offers.new_nonce``
(nonce), ``issuance.issue`` (credential), ``metadata`` (the three .well-known documents) and
``status.status_list_token`` (status lists).
"""

from register.wallet.offers import Offer, create_offer

__all__ = ["Offer", "create_offer"]
