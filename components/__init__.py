"""Layout builders: functions that return Dash layout; their callbacks sit beside them.

Importing this package also gives every dcc.Dropdown French texts (search box, "no
result", select all...), since Dash 4 ships them in English only.
"""
from dash import dcc

DROPDOWN_LABELS_FR = {
    "select_all": "Tout sélectionner",
    "deselect_all": "Tout désélectionner",
    "selected_count": "{num_selected} sélectionné(s)",
    "search": "Rechercher",
    "clear_search": "Effacer la recherche",
    "clear_selection": "Effacer la sélection",
    "no_options_found": "Aucun résultat",
}

if not getattr(dcc.Dropdown, "_atlas_fr", False):
    _dropdown_init = dcc.Dropdown.__init__

    def _french_dropdown_init(self, *args, **kwargs):
        kwargs.setdefault("labels", DROPDOWN_LABELS_FR)
        _dropdown_init(self, *args, **kwargs)

    dcc.Dropdown.__init__ = _french_dropdown_init
    dcc.Dropdown._atlas_fr = True
