"""Errors of the kiosk devices. Each has a stable ``code`` (the dialog maps it to a prompt) and
says whether the customer may simply try again (``retry_safe``). Messages never contain a PIN
and show card or ID numbers only masked, so an error can be logged as it is.

::

    DeviceError
    ├── DeviceCommandError       a simulator command is unknown or malformed
    ├── CardReaderError
    │   ├── CardSlotBusy         a card is already in the reader
    │   ├── NoCard               nothing to eject, retain or take
    │   └── CardUnreadable       the card's number cannot be read
    ├── IdCardError
    │   ├── NoIdCard             scan with no ID card on the reader
    │   ├── IdCardUnreadable     not an 18-character resident ID
    │   ├── IdNumberInvalid      the GB 11643 check character is wrong
    │   └── IdCardExpired        the ID card is past its validity
    ├── PinPadError
    │   └── PinFormatError       not the number of digits a PIN has
    ├── FaceCheckError
    │   ├── ConsentRequired      capture without the customer's separate consent
    │   └── NoFaceCaptured       nobody in front of the camera
    └── PrinterError
        ├── PaperOut             not enough paper for the job (nothing was printed)
        ├── InvalidDocument      the bytes to print are not a PDF
        └── NothingToTake        no printout waiting in the tray
"""

from __future__ import annotations

__all__ = [
    "CardReaderError",
    "CardSlotBusy",
    "CardUnreadable",
    "ConsentRequired",
    "DeviceCommandError",
    "DeviceError",
    "FaceCheckError",
    "IdCardError",
    "IdCardExpired",
    "IdCardUnreadable",
    "IdNumberInvalid",
    "InvalidDocument",
    "NoCard",
    "NoFaceCaptured",
    "NoIdCard",
    "NothingToTake",
    "PaperOut",
    "PinFormatError",
    "PinPadError",
    "PrinterError",
]


class DeviceError(Exception):
    """Root of all device errors; ``context`` holds only masked or non-personal values."""

    code = "device_error"
    retry_safe = True

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class DeviceCommandError(DeviceError):
    code = "device_command"


class CardReaderError(DeviceError):
    code = "card_reader"


class CardSlotBusy(CardReaderError):
    code = "card_slot_busy"


class NoCard(CardReaderError):
    code = "no_card"


class CardUnreadable(CardReaderError):
    code = "card_unreadable"


class IdCardError(DeviceError):
    code = "id_card"


class NoIdCard(IdCardError):
    code = "no_id_card"


class IdCardUnreadable(IdCardError):
    code = "id_card_unreadable"


class IdNumberInvalid(IdCardError):
    code = "id_number_invalid"


class IdCardExpired(IdCardError):
    code = "id_card_expired"
    retry_safe = False  # the same card will stay expired


class PinPadError(DeviceError):
    code = "pin_pad"


class PinFormatError(PinPadError):
    code = "pin_format"


class FaceCheckError(DeviceError):
    code = "face_check"


class ConsentRequired(FaceCheckError):
    code = "face_consent_required"
    retry_safe = False  # asking again without consent is never allowed


class NoFaceCaptured(FaceCheckError):
    code = "no_face_captured"


class PrinterError(DeviceError):
    code = "printer"


class PaperOut(PrinterError):
    code = "paper_out"
    retry_safe = False  # staff must load paper first


class InvalidDocument(PrinterError):
    code = "invalid_document"
    retry_safe = False


class NothingToTake(PrinterError):
    code = "nothing_to_take"
