"""Rebuild the CJK subset font used by the progress chart when no system CJK font is found.

    python tools/make_font_subset.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Source: Noto Sans CJK SC (Debian's fonts-noto-cjk), SIL Open Font License 1.1 (policy_kb/views/fonts/OFL.txt). The subset keeps the characters of the 附件2 town names in measures.yaml, the chart's own
words, digits and punctuation, and is renamed, as the licence asks of modified fonts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "policy_kb" / "views" / "fonts"
FAMILY = "PolicyKB CJK Subset"


def characters() -> str:
    sys.path.insert(0, str(ROOT))
    from policy_kb.views.chart import chart_words

    towns = yaml.safe_load((ROOT / "measures.yaml").read_text(encoding="utf-8"))["targets"]["towns"]
    text = "".join(t["name"] for t in towns) + "".join(chart_words("zh").values())
    extra = "0123456789%（）()/：:；;、，,.。+-—·家年月日目标已入库应评尽评预检可通过尚未全区补足附件镇开发区"
    return "".join(sorted(set(text + extra + "".join(chr(c) for c in range(0x20, 0x7F)))))


def main() -> None:
    source = (
        sys.argv[1]
        if len(sys.argv) > 1
        else "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    )
    font = TTCollection(source).fonts[2]  # Noto Sans CJK SC
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 3, 4, 16):
            record.string = FAMILY if record.nameID != 4 else f"{FAMILY} Regular"
        if record.nameID == 6:
            record.string = FAMILY.replace(" ", "") + "-Regular"
    out = FONTS / "PolicyKBCJKSubset-Regular.otf"
    font.save(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(characters())} characters)")


if __name__ == "__main__":
    main()
