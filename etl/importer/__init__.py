"""Import users' files: local health schemes (ASV, CLS, CLSM, CPTS) and actions.

Public API (also meant for the app's "Importer" page):

    report = validate(data_or_path, "actions", db=DB, filename="x.csv")   # read-only, nothing written
    report = apply(data_or_path, "actions", db=DB, quarantine=False)      # single-writer path
    report.ok, report.errors, report.warnings, report.needs_coordinates, report.to_frame()
    import_into(con, path, kind, ...)   # inside an open connection (build loader, tests)
    safe_cell(value), write_safe_csv(...), write_safe_xlsx(...)           # from etl.safe_export (no live formulas)

Files are CSV (UTF-8 with or without BOM, or Excel's Windows-1252; ';', ',' or tab) or
XLSX, in the templates documented in docs/import.md, or in another layout described by
a column-mapping TOML file. Every row is validated first; by default a single error
rejects the whole file (nothing is written). With `quarantine=True` the valid rows are
loaded and the rejected ones are kept in `import_quarantine` with their reasons and the
raw row as JSON. Rows are keyed by id_dispositif / id_action: re-importing a file
changes nothing, a corrected file updates the rows in place.

The steps, one module each: `spec` (kinds, columns, limits), `reading` (formats, encodings,
header, budgets), `mapping` (column mappings), `validation` (rows against the DB), `geocoding`
(BAN, points in territories), `writing` (diff and write), `api` (validate, apply, import_into),
`archive` and `replay` (imported files kept beside the DB and replayed by builds), `report`,
`templates` (docs/modeles) and `cli`.
"""
from ..safe_export import (  # noqa: F401
                        is_formula_like,
                        safe_cell,
                        safe_xlsx_cell,
                        write_safe_csv,
                        write_safe_xlsx,
)
from . import spec  # noqa: F401  (the budgets: spec.MAX_FILE_MB...)
from .api import apply, import_into, validate  # noqa: F401
from .archive import archived_imports, recover_archive  # noqa: F401
from .cli import cli_import, main  # noqa: F401
from .geocoding import Geocoder, GeoResult  # noqa: F401
from .mapping import Mapping, load_mapping  # noqa: F401
from .reading import bytes_from_upload, detect_kind  # noqa: F401
from .replay import replay_imports  # noqa: F401
from .report import ImportReport, Problem  # noqa: F401
from .spec import COLUMNS, KIND_FR, KINDS, REQUIRED, safe_file_name  # noqa: F401
from .templates import (  # noqa: F401
                        EXAMPLE_EXPORT_HEADER,
                        EXAMPLE_EXPORT_ROWS,
                        EXAMPLE_MAPPING,
                        TEMPLATE_NAMES,
                        write_templates,
)
