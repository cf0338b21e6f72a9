"""The emulator's switchable readings of what Kommo's documentation leaves open.

Where Kommo's docs or its official PHP library do not settle a behaviour, the emulator offers
each plausible reading behind a switch, so a client can be tested against all of them
(``CONTRACT.md`` says which reading is the default and why). Set them on the emulator::

    emu = KommoEmulator(phone_search="exact")
    emu.patch_embedded_contacts = "refuse"

Each switch is read at the moment a request is handled, so a test may change it between calls.
"""

from dataclasses import dataclass, fields

CHOICES = {
    # PATCH /api/v4/leads with _embedded.contacts: documented for tags only on update.
    "patch_embedded_contacts": ("ignore", "refuse"),
    # How a phone-like ``query`` meets stored phone values.
    "phone_search": ("digits", "exact"),
    # What an If-Modified-Since header does to a list (the docs recommend it, say no more).
    "if_modified_since": ("not_modified", "filter", "ignore"),
    # The order of a list read without order[...] (Kommo documents none).
    "default_order": ("id", "newest_first"),
}


@dataclass
class Readings:
    patch_embedded_contacts: str = "ignore"
    phone_search: str = "digits"
    if_modified_since: str = "not_modified"
    default_order: str = "id"
    # POST /api/v4/leads/complex merges duplicates of existing open leads (Kommo: only when
    # duplicate control is enabled for the integration; off by default here).
    duplicate_control: bool = False

    def __setattr__(self, name: str, value) -> None:
        if name == "duplicate_control":
            value = bool(value)
        elif name not in CHOICES:
            raise AttributeError(f"the emulator has no reading {name!r}")
        elif value not in CHOICES[name]:
            raise ValueError(f"{name} must be one of {CHOICES[name]}, not {value!r}")
        super().__setattr__(name, value)


READING_NAMES = tuple(field.name for field in fields(Readings))


class reading:  # noqa: N801 - used like ``property``
    """An emulator attribute kept in ``emu.readings`` and checked when set."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, emu, owner=None):
        return self if emu is None else getattr(emu.readings, self.name)

    def __set__(self, emu, value) -> None:
        setattr(emu.readings, self.name, value)
