"""Separating a reply from the history quoted below it, so the inbox can collapse the history.

Plain text only, line by line (linear in the text, so a 25 MB body costs little). What starts
the history:

* an attribution line followed by the quote: `On … wrote:` (Gmail, Apple Mail, Thunderbird;
  Gmail wraps it over two lines), `在 … 写道：` / `… 于 … 写道：` (Gmail, Apple Mail, 163 in
  Chinese), `於 … 寫道：` (traditional Chinese), `Am … schrieb …:`, `Le … a écrit :`;
* a separator line: `-----Original Message-----` (Outlook), `-----原始邮件-----` (163),
  `------------------ 原始邮件 ------------------` (QQ Mail, Foxmail in Chinese), the same
  with `Original` (Foxmail), `-----原始郵件-----`;
* a header block: `From:` / `发件人:` / `寄件者:` followed within a few lines by `Sent:`,
  `Date:`, `To:`, `Subject:`, `发送时间:`, `收件人:`, `主题:`, `寄件日期:`, `主旨:` … (Outlook,
  with or without a line of underscores above it);
* otherwise a block of `>` lines ending the text.

Interleaved answers (`> question` / answer / `> question` / answer) are not history: only a
quote block with nothing new after it is collapsed. When the reply would be empty (a mail that
is all quote), nothing is split.
"""

from __future__ import annotations

import re

MAX_ATTRIBUTION_LENGTH = 400
HEADER_BLOCK_LINES = 6

_ATTRIBUTIONS = [
    re.compile(r"^on\s.+\swrote\s?:$", re.IGNORECASE),
    re.compile(r"^(?=.*\d).*(写道|寫道)\s*[:：]$"),
    re.compile(r"^am\s.+\sschrieb\s.*:$", re.IGNORECASE),
    re.compile(r"^le\s.+\sa\sécrit\s?:$", re.IGNORECASE),
]
_SEPARATORS = [
    re.compile(
        r"^-{2,}\s*(original message|original|原始邮件|原始郵件|原邮件|回复的原邮件)\s*-{2,}$",
        re.IGNORECASE,
    ),
    re.compile(r"^_{10,}$"),
]
_FROM_LINE = re.compile(r"^\*?(from|发件人|發件人|寄件者|寄件人)\*?\s*[:：]", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\*?(sent|date|to|cc|subject|发送时间|發送時間|日期|时间|時間|收件人|收件者|抄送|副本"
    r"|主题|主題|主旨|寄件日期)\*?\s*[:：]",
    re.IGNORECASE,
)


def split_quoted(text: str) -> tuple[str, str]:
    """(the new text, the quoted history) of a plain-text mail body."""
    lines = text.split("\n")
    start = _history_start(lines)
    if start is None:
        return text.strip("\n"), ""
    reply = "\n".join(lines[:start]).rstrip()
    if not reply.strip():
        return text.strip("\n"), ""
    return reply, "\n".join(lines[start:]).strip("\n")


def _history_start(lines: list[str]) -> int | None:
    interleaved = _interleaved_from(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        if _is_separator(lines, index) or _is_header_block(lines, index):
            return index
        attribution = _attribution_length(lines, index)
        # After an attribution: a `>` quote with nothing new after it, or history quoted
        # without `>` (163 and others). A `>` quote followed by new lines is an answer
        # written in between the quoted lines.
        if attribution and not interleaved[min(index + attribution, len(lines) - 1)]:
            return index
    return _trailing_quote_start(lines)


def _interleaved_from(lines: list[str]) -> list[bool]:
    """For each line: whether a `>` line followed later by a new line comes from here on."""
    result = [False] * len(lines)
    new_line_after = interleaved = False
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            interleaved = interleaved or new_line_after
        elif stripped:
            new_line_after = True
        result[index] = interleaved
    return result


def _attribution_length(lines: list[str], index: int) -> int:
    """1 or 2 when an attribution line (maybe wrapped once) starts at `index`, else 0."""
    first = lines[index].strip()
    if len(first) <= MAX_ATTRIBUTION_LENGTH and any(p.match(first) for p in _ATTRIBUTIONS):
        return 1
    if index + 1 < len(lines):
        joined = f"{first} {lines[index + 1].strip()}"
        if len(joined) <= MAX_ATTRIBUTION_LENGTH and any(p.match(joined) for p in _ATTRIBUTIONS):
            return 2
    return 0


def _is_separator(lines: list[str], index: int) -> bool:
    stripped = lines[index].strip()
    if len(stripped) > MAX_ATTRIBUTION_LENGTH:
        return False
    if _SEPARATORS[0].match(stripped):
        return True
    # Outlook's line of underscores counts only with a From: header under it.
    return bool(_SEPARATORS[1].match(stripped)) and any(
        _FROM_LINE.match(line.strip()) for line in lines[index + 1 : index + 3]
    )


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _FROM_LINE.match(lines[index].strip()):
        return False
    following = lines[index + 1 : index + 1 + HEADER_BLOCK_LINES]
    return sum(1 for line in following if _HEADER_LINE.match(line.strip())) >= 2


def _trailing_quote_start(lines: list[str]) -> int | None:
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (lines[start - 1].lstrip().startswith(">") or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    if start >= end:
        return None
    # The attribution line just above the quote belongs to the history too.
    above = start - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _attribution_length(lines, above) == 1:
        return above
    if above >= 1 and _attribution_length(lines, above - 1) == 2:
        return above - 1
    return start
