-- Atlas ASV data model (DuckDB). Documented in docs/data-model.md.
-- Every figure carries source_id (-> source) and a geography version.

CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);

-- Provenance ---------------------------------------------------------------
CREATE TABLE source (
    source_id     VARCHAR PRIMARY KEY,   -- stable id, e.g. 'onpv_revn_2022'
    title         VARCHAR NOT NULL,
    publisher     VARCHAR NOT NULL,
    url           VARCHAR,
    licence       VARCHAR,
    vintage       VARCHAR,               -- millesime as published
    geography     VARCHAR,               -- geography version of its figures ('QPV2015', 'QPV2024', 'COG2024'...)
    file_name     VARCHAR,
    sha256        VARCHAR,
    retrieved_at  VARCHAR,               -- ISO date the file was obtained (from the download cache) or NULL
    fictional     BOOLEAN NOT NULL DEFAULT FALSE,
    dataset       VARCHAR,               -- what a source line names: dataset and year ('Filosofi 2018')
    ref_year_basis VARCHAR               -- how the year its figures describe is known (documentation cited,
                                         -- column names...); NULL: not known from the file itself
);

CREATE TABLE etl_run (
    run_id      INTEGER PRIMARY KEY,
    kind        VARCHAR NOT NULL,        -- 'build-demo', 'build-dir', 'import-actions', 'import-schemes'
    input       VARCHAR,
    started_at  VARCHAR,
    finished_at VARCHAR,
    status      VARCHAR,
    summary     VARCHAR
);

-- Anything not loaded as given: rejected rows, repaired geometries, unlinked codes.
CREATE TABLE load_issue (
    run_id    INTEGER,
    source_id VARCHAR,
    file      VARCHAR NOT NULL,
    line      VARCHAR,                   -- line number, feature index or sheet!row
    field     VARCHAR,
    value     VARCHAR,
    kind      VARCHAR NOT NULL CHECK (kind IN ('rejected', 'repaired', 'unlinked', 'out_of_scope', 'warning')),
    reason    VARCHAR NOT NULL
);

-- Territories -----------------------------------------------------------------
CREATE TABLE territory (
    level        VARCHAR NOT NULL CHECK (level IN ('france', 'region', 'departement', 'epci', 'commune', 'arrondissement',
                                                   'qpv', 'ensemble_qpv')),  -- ensemble_qpv: all QPVs of France
    code         VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    generation   VARCHAR,                -- QPV: '2015' or '2024'; others: geography version ('COG2024')
    region       VARCHAR,                -- parent codes (NULL when unknown or not applicable)
    departement  VARCHAR,
    epci         VARCHAR,
    commune      VARCHAR,                -- arrondissement -> its commune; QPV -> main commune
    population   BIGINT,
    geom         GEOMETRY,               -- WGS84 lon/lat
    geom_display GEOMETRY,               -- simplified, 5 decimals, for the web
    source_id    VARCHAR,
    PRIMARY KEY (level, code)
);

-- A QPV may straddle several communes.
CREATE TABLE qpv_commune (
    qpv_code     VARCHAR NOT NULL,
    commune_code VARCHAR NOT NULL,
    area_share   DOUBLE,                 -- share of the QPV's area inside the commune (1 when it has one commune;
                                         -- NULL when the outlines needed are not loaded)
    PRIMARY KEY (qpv_code, commune_code)
);

CREATE TABLE qpv_correspondence (
    qpv2024   VARCHAR NOT NULL,
    label2024 VARCHAR,
    statut    VARCHAR NOT NULL CHECK (statut IN ('inchange', 'modifie', 'nouveau', 'commune')),
    rank      INTEGER,                   -- 1..3; NULL when no 2015 predecessor
    qpv2015   VARCHAR,
    label2015 VARCHAR,
    source_id VARCHAR
);

-- ARS zoning of QPVs for access to GPs: ZIP (zone d'intervention prioritaire), ZAC (zone d'action
-- complémentaire), ZAR (zone d'accompagnement régional), ZV (zone de vigilance).
CREATE TABLE gp_zoning (
    qpv_code  VARCHAR PRIMARY KEY,
    zone      VARCHAR NOT NULL CHECK (zone IN ('ZIP', 'ZAC', 'ZAR', 'ZV')),
    millesime VARCHAR,
    source_id VARCHAR
);

-- Indicators ------------------------------------------------------------------
CREATE TABLE indicator (
    indicator_id VARCHAR PRIMARY KEY,
    label        VARCHAR NOT NULL,
    short_label  VARCHAR,
    unit         VARCHAR NOT NULL,       -- '%', '€', 'habitants', 'indice', 'consultations/hab.'
    family       VARCHAR NOT NULL CHECK (family IN ('revenus', 'emploi', 'démographie', 'familles', 'santé et accès aux soins', 'logement', 'éducation')),
    high_is_bad  BOOLEAN,                -- TRUE: a high value is unfavourable; NULL: neutral
    definition   VARCHAR,
    decimals     INTEGER DEFAULT 1,
    sort         INTEGER,
    -- confidence intervals of values with counts (data/stats.py): 'wilson' (a proportion) or
    -- 'poisson' (a rate of events); what numerator and denominator count; value = num / den × scale;
    -- an indicator standing for a denominator the files do not give, and what that approximation is
    ci_method    VARCHAR CHECK (ci_method IN ('wilson', 'poisson')),
    ci_numerator VARCHAR,
    ci_denominator VARCHAR,
    ci_scale     DOUBLE,
    ci_denominator_from VARCHAR,
    ci_denominator_note VARCHAR
);

CREATE TABLE indicator_value (
    level        VARCHAR NOT NULL,
    code         VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    year         INTEGER NOT NULL,       -- diffusion vintage of the file (orders a series)
    value        DOUBLE,                 -- NULL unless status = 'ok'
    numerator    DOUBLE,
    denominator  DOUBLE,
    status       VARCHAR NOT NULL CHECK (status IN ('ok', 'secret', 'missing')),
    geography    VARCHAR NOT NULL,       -- geography version the figure was computed on
    perimeter    VARCHAR NOT NULL DEFAULT 'exact' CHECK (perimeter IN ('exact', 'perimetre_2015')),
    derived_from VARCHAR,                -- 2015 QPV code when carried through the correspondence
    source_id    VARCHAR NOT NULL,
    ref_year     INTEGER,                -- year the figure describes, when documented or evidenced (else NULL: unknown)
    same_as      INTEGER,                -- earlier vintage whose figures this one repeats identically
    period       INTEGER NOT NULL,       -- series key: ref_year when known, else year - 10000 (data.provenance)
    PRIMARY KEY (level, code, indicator_id, period),
    CHECK (status = 'ok' OR value IS NULL)
);

-- Year a column describes, established at load by comparing its figures with a file that dates
-- them (docs/data-model.md): one row per dated (source, indicator).
CREATE TABLE year_evidence (
    source_id          VARCHAR NOT NULL,  -- the file whose column is dated (an ONPV table)
    indicator_id       VARCHAR NOT NULL,
    column_name        VARCHAR,           -- its column(s)
    ref_year           INTEGER NOT NULL,  -- year established
    evidence_source_id VARCHAR NOT NULL,  -- the file that dates it (Filosofi on the QPV)
    evidence_column    VARCHAR,
    n_compared         INTEGER NOT NULL,  -- QPVs holding a value in both files
    n_matching         INTEGER NOT NULL,  -- of which equal as rounded in the files
    n_dropped          INTEGER NOT NULL,  -- rows kept once, attributed to the evidence file
    PRIMARY KEY (source_id, indicator_id)
);

-- ASV reference framework -----------------------------------------------------------
CREATE TABLE theme (
    theme_id  VARCHAR PRIMARY KEY,
    label     VARCHAR NOT NULL,
    parent_id VARCHAR,                   -- NULL for the six axes
    sort      INTEGER
);

CREATE TABLE public_group (
    public_id VARCHAR PRIMARY KEY,
    label     VARCHAR NOT NULL,
    sort      INTEGER
);

-- Local health schemes (ASV, CLS, CLSM, CPTS) -----------------------------------------
CREATE TABLE scheme (
    scheme_id    VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL CHECK (kind IN ('ASV', 'CLS', 'CLSM', 'CPTS')),
    name         VARCHAR NOT NULL,
    porteur      VARCHAR,
    year_created INTEGER,
    status       VARCHAR,                -- 'actif', 'en projet', 'terminé'
    contact_url  VARCHAR,
    geom         GEOMETRY,               -- own territory when given (CPTS); else union of covered territories
    geom_display GEOMETRY,
    source_id    VARCHAR,
    import_id    INTEGER
);

CREATE TABLE scheme_territory (
    scheme_id VARCHAR NOT NULL,
    level     VARCHAR NOT NULL CHECK (level IN ('commune', 'qpv')),
    code      VARCHAR NOT NULL,
    PRIMARY KEY (scheme_id, level, code)
);

-- Where the scheme registry and the action lists are complete: what an import covers (declared at
-- import, else the communes its rows name). Outside, coverage and action counts are unknown, never 0.
CREATE TABLE registry_coverage (
    kind      VARCHAR NOT NULL CHECK (kind IN ('schemes', 'actions')),
    level     VARCHAR NOT NULL CHECK (level IN ('region', 'departement', 'epci', 'commune')),
    code      VARCHAR NOT NULL,
    declared  BOOLEAN NOT NULL,          -- TRUE: said by the importer; FALSE: the communes the file names
    source_id VARCHAR,                   -- file of a build folder
    import_id INTEGER                    -- or user import
);

-- Local health actions ------------------------------------------------------------
CREATE TABLE action (
    action_id    VARCHAR PRIMARY KEY,
    title        VARCHAR NOT NULL,
    description  VARCHAR,
    year_start   INTEGER NOT NULL,
    year_end     INTEGER,
    porteur      VARCHAR,
    qpv_code     VARCHAR,                -- 2024 QPV (2015 codes are mapped on import)
    commune_code VARCHAR,
    lon          DOUBLE,
    lat          DOUBLE,
    location_method VARCHAR,             -- 'qpv', 'commune', 'coordinates', 'address'
    scheme_id    VARCHAR,
    funders      VARCHAR,
    source_id    VARCHAR,
    import_id    INTEGER,
    address      VARCHAR,                -- postal address as given (geocoded through the BAN when online)
    qpv_code_given VARCHAR               -- QPV code as written in the file when it was mapped (2015 -> 2024)
);

CREATE TABLE action_theme (
    action_id VARCHAR NOT NULL,
    theme_id  VARCHAR NOT NULL,
    PRIMARY KEY (action_id, theme_id)
);

CREATE TABLE action_public (
    action_id VARCHAR NOT NULL,
    public_id VARCHAR NOT NULL,
    PRIMARY KEY (action_id, public_id)
);

-- User imports (actions, schemes) ----------------------------------------------------
CREATE TABLE import_log (
    import_id   INTEGER PRIMARY KEY,
    kind        VARCHAR NOT NULL,        -- 'actions' | 'schemes'
    file_name   VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    imported_at VARCHAR NOT NULL,
    n_rows      INTEGER,
    n_inserted  INTEGER,
    n_updated   INTEGER,
    n_unchanged INTEGER,
    n_rejected  INTEGER,
    mode        VARCHAR,                 -- 'all-or-nothing' | 'quarantine'
    import_ref  VARCHAR                  -- stable reference shown to users, kept by rebuilds (replay)
);

CREATE TABLE import_quarantine (
    import_id INTEGER NOT NULL,
    row_number INTEGER,
    field     VARCHAR,
    value     VARCHAR,
    reason    VARCHAR NOT NULL,
    raw       VARCHAR                    -- the whole row as JSON, so nothing is lost
);
