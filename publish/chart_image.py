"""One chart export in a child process: a plotly figure (JSON on stdin) to PNG, SVG or PDF bytes
(stdout) with kaleido and its own headless Chromium.

publish/render.py runs it with a deadline and kills its process group when the deadline passes:
kaleido's persistent server (one Chromium per process, shared by every export) was seen waiting
forever on a machine at load 16, and every later export of that process waited behind it. A
child per export costs a Chromium start (about a second) and can always be stopped.

    python -m publish.chart_image < {"figure": {...}, "format": "png", "width": 1000, "height": 500, "scale": 2}
"""
from __future__ import annotations

import json
import os
import sys
import warnings


def main() -> int:
    job = json.load(sys.stdin)
    chromium = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(chromium):
        os.environ.setdefault("BROWSER_PATH", chromium)
    import kaleido

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = kaleido.calc_fig_sync(job["figure"], opts={"format": job["format"], "width": job["width"],
                                                          "height": job["height"], "scale": job["scale"]},
                                     kopts={"mathjax": False, "timeout": job.get("timeout", 60)})
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
