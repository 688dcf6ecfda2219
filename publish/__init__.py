"""Publications made from the data layer, outside the ETL (none of it loads data): the portrait de
territoire as standalone HTML (portrait.py, rendering data.views.portrait), its SVG maps
(svgmap.py), the offline bundle (export_site.py), and the headless Chromium that turns pages and
documents into PNG and PDF (render.py)."""
