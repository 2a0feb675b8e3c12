"""The leaf of the package: small, domain-free tools every layer may use, importing no other area.

Modules: :mod:`.masking` (the one masker of personal data, for records, logs and screens),
:mod:`.secret` (``Secret``, a PIN that never shows its value), :mod:`.checksums` (Luhn and
GB 11643 check digits), :mod:`.canonical` (the byte form everything is hashed over) and
:mod:`.clitools` (what every ``vtm`` sub-command shares). Only :mod:`vtm.config` and
:mod:`vtm.keys` sit beside it; ``lint-imports`` (``pyproject.toml``) keeps it a leaf.
"""
