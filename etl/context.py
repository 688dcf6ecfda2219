"""The state shared by the loaders of one build: connection, sources, issue log."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .errors import IssueLog


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class BuildContext:
    con: duckdb.DuckDBPyConnection
    fictional: bool = False
    run_id: int = 1
    log: IssueLog = field(default_factory=IssueLog)
    retrieved: dict[str, str] = field(default_factory=dict)  # file name -> retrieval date (download cache)
    # (source_id, indicator_id) -> the file's column(s) it was read from (what year evidence names)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # sources whose year described is read in the files themselves: they can date other files' columns
    evidence_sources: set[str] = field(default_factory=set)

    def register_source(self, source_id: str, path: Path | None, *, title: str, publisher: str,
                        url: str | None = None, licence: str | None = None, vintage: str | None = None,
                        geography: str | None = None, dataset: str | None = None,
                        ref_year_basis: str | None = None) -> str:
        """Record where figures come from. Called once per input file. `dataset` is what a source
        line names: the dataset and its year ("Filosofi 2018"), with the publisher beside it;
        `ref_year_basis` says how the year its figures describe is known, when it is."""
        sha = sha256_file(path) if path is not None else None
        name = path.name if path is not None else None
        if self.fictional:
            title = f"{title} (données fictives de démonstration)"
            publisher = f"Atlas ASV, jeu fictif au format {publisher}"
        self.con.execute(
            "INSERT OR REPLACE INTO source (source_id, title, publisher, url, licence, vintage, geography, "
            "file_name, sha256, retrieved_at, fictional, dataset, ref_year_basis) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [source_id, title, publisher, url, licence, vintage, geography, name, sha,
             self.retrieved.get(name or ""), self.fictional, dataset, ref_year_basis],
        )
        return source_id

    def issue(self, file, line, field_, value, kind, reason, source_id=None) -> None:
        self.log.add(file, line, field_, value, kind, reason, source_id)

    def insert_df(self, table: str, df: pd.DataFrame, geom_cols: tuple[str, ...] = ()) -> int:
        """Insert a DataFrame into a table by column name. Geometry columns hold WKB bytes."""
        if df.empty:
            return 0
        cols = list(df.columns)
        select = ", ".join(
            f"ST_GeomFromWKB(\"{c}\")" if c in geom_cols else f'"{c}"' for c in cols
        )
        quoted = ", ".join(f'"{c}"' for c in cols)
        self.con.register("_insert_df", df)
        try:
            self.con.execute(f"INSERT INTO {table} ({quoted}) SELECT {select} FROM _insert_df")
        finally:
            self.con.unregister("_insert_df")
        return len(df)

    def flush_issues(self) -> None:
        if not self.log.issues:
            return
        df = pd.DataFrame([
            {"run_id": self.run_id, "source_id": i.source_id, "file": i.file, "line": i.line,
             "field": i.field, "value": i.value, "kind": i.kind, "reason": i.reason}
            for i in self.log.issues
        ])
        self.insert_df("load_issue", df)
        self.log.issues.clear()
