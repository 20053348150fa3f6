"""The progress chart: registrations per town against the 附件2 targets, readable in Chinese.

A CJK font is looked for on the system first (Noto Sans CJK, Source Han Sans, WenQuanYi, SimHei,
PingFang, Microsoft YaHei). If none is found, the chart uses the small subset of Noto Sans CJK SC
shipped in ``policy_kb/views/fonts`` (SIL Open Font License), which covers the town names of 附件2 and the
chart's own words. If a label needs a character neither has, the chart falls back to the town
names in pinyin (pypinyin) with English words, and says so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PolicyKBError
from ..files import atomic_path
from ..text import Msg, catalogue, percent, say

if TYPE_CHECKING:
    from ..district.reports import Progress

SUBSET_FONT = "PolicyKBCJKSubset-Regular.otf"
_SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "PingFang SC",
    "Microsoft YaHei",
)

CHART_KEYS = ("title", "subtitle", "target", "registered", "pool", "axis", "annotation")


def chart_words(lang: str) -> dict[str, str]:
    """The chart's own words in ``lang`` (templates with {year}, {registered} … still open)."""
    return {key: catalogue(lang)["chart." + key] for key in CHART_KEYS}


@dataclass(frozen=True)
class ChartResult:
    """Where the chart was written, with which font, and whether labels fell back to pinyin."""

    path: Path
    font: str
    fallback: bool


_GENERIC = ("街道", "镇", "乡", "区")  # written apart in a place name's pinyin: Hutang Zhen


def pinyin_label(name: str) -> str:
    """A place name in pinyin, without tones, as GB/T 16159 writes it: ``湖塘镇`` → ``Hutang Zhen``."""
    from pypinyin import Style, lazy_pinyin

    def spell(text: str) -> str:
        return "".join(lazy_pinyin(text, style=Style.NORMAL, v_to_u=True)).capitalize()

    for generic in _GENERIC:
        if name.endswith(generic) and len(name) > len(generic):
            return f"{spell(name[: -len(generic)])} {spell(generic)}"
    return spell(name)


def _characters(texts: list[str]) -> set[str]:
    return {c for t in texts for c in t if ord(c) > 0x7F}


def _covers(font_path: str, chars: set[str]) -> bool:
    from fontTools.ttLib import TTCollection, TTFont

    try:
        if font_path.lower().endswith(".ttc"):
            fonts = TTCollection(font_path).fonts
        else:
            fonts = [TTFont(font_path, lazy=True)]
    except Exception:  # a font file fontTools cannot read is simply not used
        return False
    for font in fonts:
        cmap = font.getBestCmap() or {}
        if all(ord(c) in cmap for c in chars):
            return True
    return False


def find_font(chars: set[str]) -> tuple[Any, str | Msg] | None:
    """A matplotlib FontProperties covering ``chars``: a system CJK font, else the shipped subset."""
    from matplotlib import font_manager

    for family in _SYSTEM_FAMILIES:
        for entry in font_manager.fontManager.ttflist:
            if entry.name == family and _covers(entry.fname, chars):
                return font_manager.FontProperties(fname=entry.fname), f"{family} ({entry.fname})"
    subset = files("policy_kb.views").joinpath("fonts").joinpath(SUBSET_FONT)
    with as_file(subset) as path:
        if path.is_file() and _covers(str(path), chars):
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)), Msg(
                "chart.font_subset", file=SUBSET_FONT
            )
    return None


def _render(words: str | Msg, lang: str) -> str:
    return words.render(lang) if isinstance(words, Msg) else words


def check_chart_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if a chart can be written there (.png or .svg); PolicyKBError
    otherwise (said before a roster is read, not after)."""
    out = Path(path)
    if out.suffix.lower() not in (".png", ".svg"):
        raise PolicyKBError(Msg("chart.format", path=str(path)))
    return out


def progress_chart(
    report: Progress,
    path: str | os.PathLike[str],
    lang: str = "zh",
    inputs: Sequence[str | os.PathLike[str] | None] = (),
) -> ChartResult:
    """Write the chart as PNG or SVG (by the file's extension), never over one of ``inputs``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = check_chart_path(path)
    words = chart_words(lang)
    names = [t.name for t in report.towns]
    district = {
        "year": report.year,
        "registered": report.registered,
        "target": report.target,
        "rate": percent(report.rate),
        "pool": report.pool,
        "closes": report.pool_closes,
    }
    chars = _characters([*names, *words.values()])
    found = find_font(chars) if chars else None
    fallback = bool(chars) and found is None
    if fallback:  # no font can show these characters: pinyin town names, English words
        words = chart_words("en")
        names = [pinyin_label(t.name) for t in report.towns]
    font = found[0] if found else None
    font_name = say(lang, "chart.font_default") if not found else _render(found[1], lang)

    count = len(report.towns)
    fig, ax = plt.subplots(figsize=(10, 0.55 * count + 2.2), dpi=150)
    y = list(range(count))[::-1]
    targets = [t.target for t in report.towns]
    registered = [t.registered for t in report.towns]
    pool = [t.pool_closes for t in report.towns]
    ax.barh(y, targets, color="#e6e9ef", edgecolor="#9aa4b2", height=0.7, label=words["target"])
    ax.barh(y, registered, color="#2b6cb0", height=0.5, label=words["registered"])
    ax.barh(y, pool, left=registered, color="#f0a33a", height=0.5, label=words["pool"])
    for yi, town in zip(y, report.towns, strict=True):
        note = words["annotation"].format(
            registered=town.registered, target=town.target, rate=percent(town.rate)
        )
        ax.text(
            max(town.target, town.registered + town.pool_closes) + 2,
            yi,
            note,
            va="center",
            fontsize=8,
            fontproperties=font,
            color="#333",
        )
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontproperties=font)
    ax.set_xlabel(words["axis"], fontproperties=font)
    ax.set_xlim(
        0, max(max(targets), max(r + p for r, p in zip(registered, pool, strict=True))) * 1.25
    )
    ax.set_title(words["title"].format(**district), fontproperties=font, fontsize=13, loc="left")
    fig.text(
        0.01,
        0.01,
        words["subtitle"].format(**district),
        fontproperties=font,
        fontsize=9,
        color="#555",
    )
    legend = ax.legend(loc="lower right", frameon=False, prop=font)
    if font is not None:
        for text in legend.get_texts():
            text.set_fontproperties(font)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    with atomic_path(out, inputs) as tmp:
        fig.savefig(
            tmp,
            format=out.suffix.lower()[1:],
            metadata={"Software": None} if out.suffix.lower() == ".png" else {"Date": None},
        )
    plt.close(fig)
    return ChartResult(out, font_name, fallback)
