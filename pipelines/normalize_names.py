"""Traditional → simplified characters for name matching, from OpenCC's maintained tables.

PostgreSQL cannot call OpenCC, so the character table is turned into one IMMUTABLE SQL function,
`kcbx.t2s(text)`, built at migration time from the installed OpenCC (`t2s` conversion, one character at a time:
names are matched character by character, phrase conversions do not apply to them). `kcbx.is_simplified_hanzi`
tells the common case, a name of CJK characters none of which t2s changes, with one regular expression.
"""
from __future__ import annotations

from functools import lru_cache

_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]


@lru_cache(maxsize=1)
def t2s_pairs() -> tuple[str, str]:
    import opencc

    chars = [chr(cp) for lo, hi in _RANGES for cp in range(lo, hi + 1)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):
        raise RuntimeError("OpenCC changed the number of characters; cannot build the t2s table")
    src, dst = [], []
    for a, b in zip(chars, converted):
        if a != b and len(b) == 1:
            src.append(a)
            dst.append(b)
    return "".join(src), "".join(dst)


def install_t2s_function(conn) -> None:
    src, dst = t2s_pairs()
    from .db import exec_script, sql_literal
    exec_script(conn,
        "create or replace function kcbx.t2s(s text) returns text language plpgsql immutable parallel safe strict as "
        f"$fn$ begin if s ~ {sql_literal('[' + src + ']')} then"
        f" return translate(s, {sql_literal(src)}, {sql_literal(dst)});"
        " end if; return s; end $fn$")
    exec_script(conn,
        "create or replace function kcbx.is_simplified_hanzi(s text) returns boolean language sql immutable"
        f" parallel safe as $fn$ select s ~ {sql_literal('^' + simplified_hanzi_class() + '+$')} $fn$")


_BASIC_HANZI = range(0x4E00, 0xA000)  # the CJK unified ideographs a simplified name is written in


def _kept_hanzi() -> list[bool]:
    """For each ideograph of U+4E00–U+9FFF, whether t2s leaves it as it is."""
    changed = {ord(c) for c in t2s_pairs()[0]}
    return [cp not in changed for cp in _BASIC_HANZI]


def simplified_hanzi_bits() -> bytes:
    """The kept ideographs as a bitmap for kcbx_native's `hanzi_in_set`: bit k (of byte k // 8, least significant
    first) is set if U+4E00 + k is kept by t2s."""
    bits = bytearray(len(_BASIC_HANZI) // 8)
    for k, kept in enumerate(_kept_hanzi()):
        if kept:
            bits[k // 8] |= 1 << (k % 8)
    return bytes(bits)


def simplified_hanzi_class() -> str:
    """The kept ideographs as a regular-expression class of ranges."""
    ranges, start = [], None
    for cp, kept in zip([*_BASIC_HANZI, _BASIC_HANZI.stop], [*_kept_hanzi(), False]):
        if kept and start is None:
            start = cp
        elif not kept and start is not None:
            ranges.append(chr(start) if start == cp - 1 else f"{chr(start)}-{chr(cp - 1)}")
            start = None
    return "[" + "".join(ranges) + "]"
