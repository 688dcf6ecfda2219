"""Colour schemes of the maps: ColorBrewer palettes (colour-blind safe), oriented so that the
darkest or warmest colour marks the unfavourable end, and the diverging colours of gap classes."""
from __future__ import annotations

# ColorBrewer (Cynthia Brewer, colorbrewer2.org) colour-blind-safe schemes, 3 to 7 classes,
# ordered light -> dark.
PALETTES: dict[str, dict[int, list[str]]] = {
    "YlOrRd": {
        3: ["#ffeda0", "#feb24c", "#f03b20"],
        4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
        5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
        6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
        7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    },
    "Blues": {
        3: ["#deebf7", "#9ecae1", "#3182bd"],
        4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
        5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
        6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
        7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
    },
    "Purples": {
        3: ["#efedf5", "#bcbddc", "#756bb1"],
        4: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
        5: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
        6: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
        7: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
    },
    "PuOr": {  # diverging, for gaps: orange = unfavourable side after orientation
        3: ["#998ec3", "#f7f7f7", "#f1a340"],
        4: ["#5e3c99", "#b2abd2", "#fdb863", "#e66101"],
        5: ["#5e3c99", "#b2abd2", "#f7f7f7", "#fdb863", "#e66101"],
        6: ["#542788", "#998ec3", "#d8daeb", "#fee0b6", "#f1a340", "#b35806"],
        7: ["#542788", "#998ec3", "#d8daeb", "#f7f7f7", "#fee0b6", "#f1a340", "#b35806"],
    },
}
PALETTE_LABELS = {"YlOrRd": "Jaune-orange-rouge", "Blues": "Bleus", "Purples": "Violets",
                  "PuOr": "Violet-orange (divergente)"}


def default_palette(high_is_bad) -> str:
    return "YlOrRd" if high_is_bad is not None else "Purples"


def palette(name: str, k: int, high_is_bad=None) -> list[str]:
    """Colours for classes ordered by increasing value. When a high value is favourable,
    the scheme is reversed so the darkest colour always marks the unfavourable end."""
    cols = list(PALETTES.get(name, PALETTES["Purples"])[max(3, min(7, k))])
    if high_is_bad is False:
        cols = cols[::-1]
    return cols[:k] if k < 3 else cols


# More ColorBrewer schemes, all marked colour-blind safe on colorbrewer2.org. Sequential ones go
# light -> dark. Diverging ones are stored so that the LAST colour is the warm "unfavourable"
# end when a high value is unfavourable (as PuOr above): RdBu and BrBG are therefore stored
# reversed (blue -> red, green -> brown); palette() reverses again when high is favourable.
PALETTES.update({
    "YlGnBu": {
        3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
        4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
        5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
        6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
        7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
    },
    "Oranges": {
        3: ["#fee6ce", "#fdae6b", "#e6550d"],
        4: ["#feedde", "#fdbe85", "#fd8d3c", "#d94701"],
        5: ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"],
        6: ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],
        7: ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"],
    },
    "RdBu": {  # stored blue -> red
        3: ["#67a9cf", "#f7f7f7", "#ef8a62"],
        4: ["#0571b0", "#92c5de", "#f4a582", "#ca0020"],
        5: ["#0571b0", "#92c5de", "#f7f7f7", "#f4a582", "#ca0020"],
        6: ["#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b"],
        7: ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"],
    },
    "BrBG": {  # stored green -> brown
        3: ["#5ab4ac", "#f5f5f5", "#d8b365"],
        4: ["#018571", "#80cdc1", "#dfc27d", "#a6611a"],
        5: ["#018571", "#80cdc1", "#f5f5f5", "#dfc27d", "#a6611a"],
        6: ["#01665e", "#5ab4ac", "#c7eae5", "#f6e8c3", "#d8b365", "#8c510a"],
        7: ["#01665e", "#5ab4ac", "#c7eae5", "#f5f5f5", "#f6e8c3", "#d8b365", "#8c510a"],
    },
})
PALETTE_LABELS.update({"YlGnBu": "Jaune-vert-bleu", "Oranges": "Oranges",
                       "RdBu": "Bleu-rouge (divergente)", "BrBG": "Vert-brun (divergente)"})
SEQUENTIAL_PALETTES = ["YlOrRd", "Blues", "Purples", "YlGnBu", "Oranges"]
DIVERGING_PALETTES = ["PuOr", "RdBu", "BrBG"]


def palettes_for(mode: str) -> list[str]:
    """Palettes offered in a mode: sequential for values, diverging for gaps."""
    return DIVERGING_PALETTES if mode == "ecart" else SEQUENTIAL_PALETTES


# 11-class ColorBrewer diverging schemes (colour-blind safe), oriented like the diverging
# entries of PALETTES: favourable (cool) end first, unfavourable (warm) end last.
DIVERGING_11 = {
    "PuOr": ["#2d004b", "#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7",
             "#fee0b6", "#fdb863", "#e08214", "#b35806", "#7f3b08"],
    "RdBu": ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
             "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"],
    "BrBG": ["#003c30", "#01665e", "#35978f", "#80cdc1", "#c7eae5", "#f5f5f5",
             "#f6e8c3", "#dfc27d", "#bf812d", "#8c510a", "#543005"],
}


_SIDE_PICKS = {1: [2], 2: [1, 3], 3: [0, 2, 4], 4: [0, 1, 3, 4], 5: [0, 1, 2, 3, 4]}


def diverging_colors(name: str, sides: list[str], high_is_bad=None) -> list[str]:
    """Colours of gap classes: favourable hues below parity, unfavourable hues above it
    (reversed when a high value is favourable), darker the farther from parity."""
    arr = list(DIVERGING_11.get(name, DIVERGING_11["PuOr"]))
    if high_is_bad is False:
        arr = arr[::-1]
    left = arr[:5][::-1]      # light -> dark, below parity
    right = arr[6:]           # light -> dark, above parity
    n_lo = sum(1 for s in sides if s == "below")
    n_mid = sum(1 for s in sides if s == "neutral")
    n_hi = len(sides) - n_lo - n_mid
    lo = [left[i] for i in _SIDE_PICKS[min(n_lo, 5)]][::-1] if n_lo else []   # far -> near
    hi = [right[i] for i in _SIDE_PICKS[min(n_hi, 5)]] if n_hi else []        # near -> far
    return lo + [arr[5]] * n_mid + hi
