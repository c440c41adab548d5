"""Regenerate src/hanvoice/data/t2s_chars.txt, the per-character traditional -> simplified
table the content filter uses to fold text before matching.

Needs OpenCC (``pip install opencc`` in a throwaway venv; hanvoice does not depend on it at
run time). The table is OpenCC's t2s conversion applied to every CJK ideograph one at a time,
keeping one-to-one mappings only, so positions in the text stay aligned for masking.
OpenCC and its dictionaries are Apache-2.0 licensed.

    python scripts/make_t2s_table.py > src/hanvoice/data/t2s_chars.txt
"""

from __future__ import annotations

import opencc  # type: ignore[import-not-found]

RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF)]


def main() -> None:
    conv = opencc.OpenCC("t2s")
    print(f"# traditional -> simplified, one character each; OpenCC {opencc.__version__} t2s")
    print("# (Apache-2.0). Regenerate with scripts/make_t2s_table.py.")
    for lo, hi in RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            out = conv.convert(ch)
            if out != ch and len(out) == 1:
                print(f"{ch} {out}")


if __name__ == "__main__":
    main()
