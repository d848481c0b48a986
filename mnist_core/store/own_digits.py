"""The user's own digits: drawings kept with their right label, to measure any model on the user's own hand.

"Wrong? It is a ..." on the Draw page keeps the drawing here; the Runs page, the command line (`digits`) and the
benchmarks evaluate models on the set. One PNG per digit under the store's root (`Layout.own_digits_dir`), its
record (label, when, what the model said) in the PNG's own text chunk: keeping a digit is one atomic write, two tabs
keeping digits at once cannot lose each other's, and an exported PNG still says what it is. The picture is the ink
as the Draw page's preprocessing found it (white on black, at most MAX_SIDE pixels a side), so any model, now or
later, reads it through the same preprocessing as a fresh drawing.

A file that is not such a PNG, or whose record fails its check, is listed as a `DamagedDigit` with the reason and
left out of every evaluation; it can be removed like any other.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from PIL import Image, PngImagePlugin

import mnist_core.store.records as records
from mnist_core.atomic import atomic_write_bytes
from mnist_core.data.preprocess import ImageError, ink_map, open_image
from mnist_core.i18n import Message, TranslatableError, as_message
from mnist_core.store.layout import Layout
from mnist_core.store.records import DigitSource, OwnDigitRecord, RecordError

RECORD_KEY = "mnist-lab"  # the PNG text chunk that holds the record
MAX_SIDE = 560  # a kept picture's longer side at most (the canvas is 280): a photo is scaled down to this
MAX_DIGITS = 20_000
MAX_IMPORT_BYTES = 100 * 2**20  # a zip to import, and the sum of what it unpacks to
CSV_NAME = "labels.csv"
CSV_COLUMNS = ("file", "label", "saved_at", "predicted", "model", "source")
_ID_LENGTH = 16


class OwnDigitsError(TranslatableError, ValueError):
    """A request on the user's own digits that cannot be done; the message says why and what to do."""

    def __init__(self, explanation: str | Message):
        super().__init__(as_message(explanation))


@dataclass(frozen=True)
class OwnDigit:
    """One kept digit: its id (the file's name without .png) and its checked record."""

    id: str
    record: OwnDigitRecord

    @property
    def label(self) -> int:
        return self.record.label


@dataclass(frozen=True)
class DamagedDigit:
    """A file in the set that cannot be read as a kept digit; `why` says what is wrong."""

    id: str
    why: Message

    @property
    def reason(self) -> str:
        return str(self.why)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: how many digits it kept, how many it already had, and each row it could not use."""

    added: int
    already_there: int
    problems: tuple[Message, ...]


class OwnDigits:
    """The user's own digits of one run store."""

    def __init__(self, layout: Layout):
        self._layout = layout
        self.folder = layout.own_digits_dir

    # --- keeping ------------------------------------------------------------------------------------------------
    def keep(
        self,
        picture,
        label: int,
        *,
        predicted: int | None = None,
        model: str | None = None,
        source: DigitSource = DigitSource.CANVAS,
        saved_at: str | None = None,
    ) -> tuple[OwnDigit, bool]:
        """Keep a picture of a digit (an array, a PIL image, or image bytes) with its right label. Returns the kept
        digit and whether it is new: the same picture kept again with the same label is not stored twice."""
        record = records.decode(
            records.encode(
                OwnDigitRecord(
                    label=_label(label),
                    saved_at=saved_at or datetime.now(UTC).isoformat(timespec="seconds"),
                    predicted=None if predicted is None else _label(predicted),
                    model=model,
                    source=DigitSource(source),
                )
            ),
            OwnDigitRecord,
            "record",
        )  # through the decoder, so a record is checked the same way when kept as when read
        pixels = _ink_pixels(picture)
        digit_id = hashlib.sha256(pixels.tobytes() + bytes([record.label])).hexdigest()[:_ID_LENGTH]
        path = self._layout.own_digit(digit_id)
        if path.exists():
            return OwnDigit(digit_id, record), False
        if self.count() >= MAX_DIGITS:
            raise OwnDigitsError(
                Message(
                    "Your set already holds {limit} digits, the most it keeps. Export it, then remove some.",
                    limit=MAX_DIGITS,
                )
            )
        atomic_write_bytes(path, _png_with_record(pixels, record))
        return OwnDigit(digit_id, record), True

    # --- reading ------------------------------------------------------------------------------------------------
    def ids(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.folder.iterdir() if p.suffix == ".png" and not p.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def count(self) -> int:
        return len(self.ids())

    def entries(self) -> list[OwnDigit | DamagedDigit]:
        """Every digit in the set, newest first; a file that fails its check as a DamagedDigit with the reason."""
        entries = []
        for digit_id in self.ids():
            try:
                entries.append(OwnDigit(digit_id, self._read(digit_id)[1]))
            except RecordError as error:
                entries.append(DamagedDigit(digit_id, error.problem))
        kept = sorted((e for e in entries if isinstance(e, OwnDigit)), key=lambda e: e.record.saved_at, reverse=True)
        return kept + [e for e in entries if isinstance(e, DamagedDigit)]

    def digits(self) -> list[OwnDigit]:
        return [entry for entry in self.entries() if isinstance(entry, OwnDigit)]

    def picture(self, digit_id: str) -> np.ndarray:
        """The kept picture: (H, W) uint8, ink white on black. RecordError if the file fails its check."""
        return self._read(digit_id)[0]

    def version(self) -> tuple:
        """Changes whenever a digit is kept or removed: a cache key for an evaluation of the set."""
        try:
            return tuple(
                (p.name, p.stat().st_mtime_ns) for p in sorted(self.folder.iterdir()) if not p.name.startswith(".")
            )
        except (FileNotFoundError, NotADirectoryError):
            return ()

    def _read(self, digit_id: str) -> tuple[np.ndarray, OwnDigitRecord]:
        name = f"{digit_id}.png"
        path = self._layout.own_digit(_checked_id(digit_id))
        try:
            with Image.open(path) as image:
                if image.format != "PNG" or RECORD_KEY not in image.info:
                    raise RecordError(name, Message("not a digit kept by MNIST Lab (its label is missing)"))
                if image.width * image.height > MAX_SIDE * MAX_SIDE * 4:
                    raise RecordError(name, Message("the picture is far larger than a kept digit"))
                text = image.info[RECORD_KEY]
                pixels = np.asarray(image.convert("L"))
        except FileNotFoundError:
            raise RecordError(name, Message("the file is missing")) from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            if isinstance(error, RecordError):
                raise
            raise RecordError(name, Message("not a readable PNG ({reason})", reason=str(error))) from None
        return pixels, records.decode(str(text).encode(), OwnDigitRecord, name)

    # --- removing -----------------------------------------------------------------------------------------------
    def remove(self, digit_ids: Iterable[str]) -> int:
        """Remove digits from the set (damaged ones too); returns how many files went."""
        removed = 0
        for digit_id in digit_ids:
            path = self._layout.own_digit(_checked_id(digit_id))
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    # --- export and import --------------------------------------------------------------------------------------
    def export_zip(self) -> bytes:
        """The set as a zip: digits/<id>.png (each PNG also holds its record) and labels.csv, one row per digit."""
        buffer = io.BytesIO()
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
            for digit in self.digits():
                try:
                    data = self._layout.own_digit(digit.id).read_bytes()
                except OSError:  # removed meanwhile
                    continue
                file = f"digits/{digit.id}.png"
                archive.writestr(file, data)
                r = digit.record
                writer.writerow(
                    [file, r.label, r.saved_at, "" if r.predicted is None else r.predicted, r.model or "", r.source]
                )
            archive.writestr(CSV_NAME, table.getvalue())
        return buffer.getvalue()

    def import_zip(self, data: bytes) -> ImportReport:
        """Keep every labelled picture of a zip: labels.csv (columns `file` and `label`, the rest optional) beside
        the pictures it names, as `export_zip` writes it, or photos of paper labelled the same way. A row that
        cannot be used is reported, not kept; the others are."""
        if len(data) > MAX_IMPORT_BYTES:
            raise OwnDigitsError(
                Message("The zip is larger than {limit} MB; split it.", limit=MAX_IMPORT_BYTES // 2**20)
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        except (zipfile.BadZipFile, ValueError, OSError):
            raise OwnDigitsError(
                Message("Not a zip file. Give a zip with labels.csv and the pictures it names.")
            ) from None
        if sum(info.file_size for info in members.values()) > MAX_IMPORT_BYTES:
            raise OwnDigitsError(
                Message("The zip unpacks to more than {limit} MB; split it.", limit=MAX_IMPORT_BYTES // 2**20)
            )
        table_name = next((name for name in members if name.rsplit("/", 1)[-1] == CSV_NAME), None)
        if table_name is None:
            raise OwnDigitsError(
                Message("The zip has no labels.csv: one row per picture, with columns file and label.")
            )
        base = table_name[: -len(CSV_NAME)]
        try:
            rows = list(csv.DictReader(io.StringIO(archive.read(table_name).decode("utf-8-sig"))))
        except (UnicodeDecodeError, csv.Error) as error:
            raise OwnDigitsError(Message("labels.csv cannot be read ({reason}).", reason=str(error))) from None
        if rows and not {"file", "label"} <= set(rows[0]):
            raise OwnDigitsError(Message("labels.csv needs the columns file and label."))
        added = already = 0
        problems = []
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            file = (row.get("file") or "").strip()
            try:
                label = _label(row.get("label"))
                member = members.get(base + file) or members.get(file)
                if member is None:
                    raise OwnDigitsError(Message("no picture called {file} in the zip", file=file))
                predicted = row.get("predicted") or None
                _, new = self.keep(
                    open_image(archive.read(member), name=file),
                    label,
                    predicted=None if predicted is None else _label(predicted),
                    model=row.get("model") or None,
                    source=DigitSource.IMPORTED,
                    saved_at=row.get("saved_at") or None,
                )
            except (OwnDigitsError, ImageError, RecordError) as error:
                problems.append(Message("labels.csv line {line}: {problem}", line=number, problem=error.explanation))
                continue
            added += new
            already += not new
        return ImportReport(added, already, tuple(problems))


# --- helpers -----------------------------------------------------------------------------------------------------


def _label(value) -> int:
    try:
        label = int(str(value).strip())
    except (TypeError, ValueError):
        raise OwnDigitsError(Message("{value} is not a digit 0 to 9", value=value)) from None
    if not 0 <= label <= 9:
        raise OwnDigitsError(Message("{value} is not a digit 0 to 9", value=value))
    return label


def _checked_id(digit_id: str) -> str:
    if not (0 < len(digit_id) <= 64 and digit_id.isascii() and digit_id.replace("-", "").isalnum()):
        raise OwnDigitsError(Message("{id} is not the id of a kept digit.", id=digit_id))
    return digit_id


def _ink_pixels(picture) -> np.ndarray:
    """The picture's ink, white on black, as (H, W) uint8 of at most MAX_SIDE a side: what is kept."""
    if isinstance(picture, (bytes, bytearray)):
        picture = open_image(picture, name="picture")
    ink, _ = ink_map(picture)
    image = Image.fromarray(np.uint8(np.round(ink * 255)))
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image)


def _png_with_record(pixels: np.ndarray, record: OwnDigitRecord) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(RECORD_KEY, records.encode(record).decode())
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info, optimize=True)
    return buffer.getvalue()
