"""Text in mail as senders really encode it, not as they label it.

Chinese mail is often labelled with a smaller charset than it uses: `gb2312` for text with GBK
characters (镕, 堃, 喆 are not in GB2312), `big5` for text with the Hong Kong or Microsoft
extensions. Each label is decoded with the superset browsers use for it (the WHATWG Encoding
standard does the same): GB2312 and GBK as GB18030, Big5 as Big5-HKSCS, then CP950. A label
that is wrong altogether (UTF-8 sent as `gb2312`, or no label on 8-bit text) falls back to
UTF-8, then GB18030; only then are undecodable bytes replaced, never dropped silently. Valid
UTF-8 is taken as UTF-8 whatever the label: other 8-bit text is almost never valid UTF-8,
while UTF-8 decodes as GB18030 into nonsense without an error.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

# Label -> codecs to try, strictly, in order.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "gb2312",
            "gbk",
            "x-gbk",
            "cp936",
            "ms936",
            "euc-cn",
            "x-euc-cn",
            "gb_2312-80",
            "csgb2312",
            "chinese",
            "iso-ir-58",
            "gb18030",
            "hz-gb-2312",
        ),
        ("gb18030",),
    ),
    **dict.fromkeys(
        ("big5", "big-5", "cn-big5", "csbig5", "x-x-big5", "big5-hkscs", "big5hkscs", "cp950"),
        ("big5hkscs", "cp950"),
    ),
    # Western mail labelled Latin-1 is in practice Windows-1252 (curly quotes, euro sign).
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii"), ("cp1252",)),
    **dict.fromkeys(("ks_c_5601-1987", "euc-kr", "korean"), ("cp949",)),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis"), ("cp932",)),
}
_FALLBACKS = ("utf-8", "gb18030")
_ENCODED_WORD = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
_ENCODED_RUN = re.compile(rf"{_ENCODED_WORD}(?:[ \t]+{_ENCODED_WORD})*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def codecs_for(label: str | None) -> tuple[str, ...]:
    """The codecs to try for a declared charset, best first, known to Python."""
    if not label:
        return _FALLBACKS
    name = label.strip().strip("\"'").lower()
    candidates = list(_SUPERSETS.get(name, ()))
    if not candidates:
        try:
            candidates.append(codecs.lookup(name).name)
        except LookupError:
            pass
    return tuple(dict.fromkeys([*candidates, *_FALLBACKS]))


def decode_bytes(data: bytes, label: str | None) -> str:
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    tries = codecs_for(label)
    for codec in tries:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    # Nothing fits exactly: the declared (or first) codec, with U+FFFD for what is broken.
    return data.decode(tries[0], errors="replace")


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def decode_header_text(value: str, fallback_label: str | None = None) -> str:
    """A raw header value (folded, maybe RFC 2047 encoded words, maybe raw 8-bit bytes kept
    as surrogate escapes) as text. `fallback_label` is the charset for raw 8-bit headers,
    usually the body's: mailers that send raw 8-bit headers use the body's charset."""
    value = unfold(value)
    if any("\udc80" <= char <= "\udcff" for char in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), fallback_label)
    return _ENCODED_RUN.sub(lambda run: _decode_encoded_words(run[0]), value)


def _decode_encoded_words(run: str) -> str:
    """A run of encoded words separated by white space (which RFC 2047 says to drop). The
    words are decoded together: senders split one multi-byte character across two words."""
    try:
        chunks = decode_header(run)
    except (ValueError, LookupError):
        # A broken encoded word: show it as sent rather than lose the header.
        return run
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, label) for chunk, label in chunks
    )


def single_line(text: str) -> str:
    """Line breaks and other control characters as spaces, runs of spaces as one."""
    return " ".join(_CONTROLS.sub(" ", text).split())
