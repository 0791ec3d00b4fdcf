"""Traditional → simplified characters for name matching, from OpenCC's maintained tables.

PostgreSQL cannot call OpenCC, so the character table is turned into one IMMUTABLE SQL function,
`kcbx.t2s(text)`, built at migration time from the installed OpenCC (`t2s` conversion, one character at a time:
names are matched character by character, phrase conversions do not apply to them).
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
    from .db import exec_script
    exec_script(conn,
        "create or replace function kcbx.t2s(s text) returns text language plpgsql immutable parallel safe strict as "
        f"$fn$ begin if s ~ {_literal('[' + src + ']')} then return translate(s, {_literal(src)}, {_literal(dst)});"
        " end if; return s; end $fn$")


def _literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"
